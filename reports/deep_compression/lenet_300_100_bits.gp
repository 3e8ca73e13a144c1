set terminal svg size 720,440 dynamic noenhanced font 'sans,12' background rgb 'white'
set output 'lenet_300_100_bits.svg'
set grid
set key outside right top font ',10'
set xlabel "bits per weight of the layers shared (no retraining)"
set ylabel "validation accuracy (%)"
plot 'lenet_300_100_bits.dat' index 0 with linespoints pointsize 1.2 title "fc layers, pruned + shared", 'lenet_300_100_bits.dat' index 1 with linespoints pointsize 1.2 title "fc layers, shared only"
