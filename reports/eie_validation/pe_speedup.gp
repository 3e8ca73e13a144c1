set terminal svg size 720,440 dynamic noenhanced font 'sans,12' background rgb 'white'
set output 'pe_speedup.svg'
set grid
set key outside right top font ',10'
set xlabel "PEs"
set ylabel "speedup over one PE, per PE"
set logscale x 2
plot 'pe_speedup.dat' index 0 with linespoints lw 1.5 pointsize 0.9 title "Alex-6", 'pe_speedup.dat' index 1 with linespoints lw 1.5 pointsize 0.9 title "Alex-7", 'pe_speedup.dat' index 2 with linespoints lw 1.5 pointsize 0.9 title "Alex-8", 'pe_speedup.dat' index 3 with linespoints lw 1.5 pointsize 0.9 title "VGG-6", 'pe_speedup.dat' index 4 with linespoints lw 1.5 pointsize 0.9 title "VGG-7", 'pe_speedup.dat' index 5 with linespoints lw 1.5 pointsize 0.9 title "VGG-8", 'pe_speedup.dat' index 6 with linespoints lw 1.5 pointsize 0.9 title "NT-We", 'pe_speedup.dat' index 7 with linespoints lw 1.5 pointsize 0.9 title "NT-Wd", 'pe_speedup.dat' index 8 with linespoints lw 1.5 pointsize 0.9 title "NT-LSTM", 'pe_speedup.dat' index 9 with lines dt 2 lw 2 lc rgb 'black' title "linear"
