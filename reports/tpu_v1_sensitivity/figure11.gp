set terminal svg size 720,440 dynamic noenhanced font 'sans,12' background rgb 'white'
set output 'figure11.svg'
set grid
set key inside left top font ',10'
set xlabel "scale of the parameter (TPU v1 = 1)"
set ylabel "weighted mean performance relative to TPU v1"
set logscale x 2
set xrange [0.20000000000000001:5]
plot 'figure11.dat' index 0 with linespoints lw 2 pointsize 1.1 title "memory", 'figure11.dat' index 1 with linespoints lw 2 pointsize 1.1 title "clock", 'figure11.dat' index 2 with linespoints lw 2 pointsize 1.1 title "clock+", 'figure11.dat' index 3 with linespoints lw 2 pointsize 1.1 title "matrix", 'figure11.dat' index 4 with linespoints lw 2 pointsize 1.1 title "matrix+"
