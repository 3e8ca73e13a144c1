set terminal svg size 720,440 dynamic noenhanced font 'sans,12' background rgb 'white'
set output 'by_application_matrix.svg'
set grid
set key inside left top font ',10'
set xlabel "matrix: scale (TPU v1 = 1)"
set ylabel "performance relative to TPU v1"
set logscale x 2
set xrange [0.20000000000000001:5]
plot 'by_application_matrix.dat' index 0 with linespoints pointsize 1 title "mlp0", 'by_application_matrix.dat' index 1 with linespoints pointsize 1 title "mlp1", 'by_application_matrix.dat' index 2 with linespoints pointsize 1 title "lstm0", 'by_application_matrix.dat' index 3 with linespoints pointsize 1 title "lstm1", 'by_application_matrix.dat' index 4 with linespoints pointsize 1 title "cnn0", 'by_application_matrix.dat' index 5 with linespoints pointsize 1 title "cnn1", 'by_application_matrix.dat' index 6 with linespoints lw 3 lc rgb 'black' pointsize 1.2 title "weighted mean"
