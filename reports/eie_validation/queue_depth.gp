set terminal svg size 720,440 dynamic noenhanced font 'sans,12' background rgb 'white'
set output 'queue_depth.svg'
set grid
set key outside right top font ',10'
set xlabel "activation queue depth"
set ylabel "PE cycles idle (%)"
set logscale x 2
plot 'queue_depth.dat' index 0 with linespoints lw 1.5 pointsize 0.9 title "Alex-6", 'queue_depth.dat' index 1 with linespoints lw 1.5 pointsize 0.9 title "Alex-7", 'queue_depth.dat' index 2 with linespoints lw 1.5 pointsize 0.9 title "Alex-8", 'queue_depth.dat' index 3 with linespoints lw 1.5 pointsize 0.9 title "VGG-6", 'queue_depth.dat' index 4 with linespoints lw 1.5 pointsize 0.9 title "VGG-7", 'queue_depth.dat' index 5 with linespoints lw 1.5 pointsize 0.9 title "VGG-8", 'queue_depth.dat' index 6 with linespoints lw 1.5 pointsize 0.9 title "NT-We", 'queue_depth.dat' index 7 with linespoints lw 1.5 pointsize 0.9 title "NT-Wd", 'queue_depth.dat' index 8 with linespoints lw 1.5 pointsize 0.9 title "NT-LSTM"
