set terminal svg size 720,440 dynamic noenhanced font 'sans,12' background rgb 'white'
set output 'lenet5_sensitivity.svg'
set grid
set key outside right top font ',10'
set xlabel "density of the one layer pruned (no retraining)"
set ylabel "validation accuracy (%)"
set logscale x 10
plot 'lenet5_sensitivity.dat' index 0 with linespoints pointsize 1.2 title "conv1", 'lenet5_sensitivity.dat' index 1 with linespoints pointsize 1.2 title "conv2", 'lenet5_sensitivity.dat' index 2 with linespoints pointsize 1.2 title "fc1", 'lenet5_sensitivity.dat' index 3 with linespoints pointsize 1.2 title "fc2", 'lenet5_sensitivity.dat' index 4 with linespoints pointsize 1.2 title "fc3", 'lenet5_sensitivity.dat' index 5 with lines dashtype 2 title "float model"
