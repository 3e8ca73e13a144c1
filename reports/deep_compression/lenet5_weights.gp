set terminal svg size 720,440 dynamic noenhanced font 'sans,12' background rgb 'white'
set output 'lenet5_weights.svg'
set grid
set key outside right top font ',10'
set xlabel "weight of fc1 (zeros not counted)"
set ylabel "weights per bin (log)"
set logscale y 10
plot 'lenet5_weights.dat' index 0 with steps title "float", 'lenet5_weights.dat' index 1 with steps title "pruned", 'lenet5_weights.dat' index 2 with impulses linewidth 2 title "fine-tuned"
