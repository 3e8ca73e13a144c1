set terminal svg size 720,440 dynamic noenhanced font 'sans,12' background rgb 'white'
set output 'pareto.svg'
set grid
set key outside right top font ',10'
set xlabel "latency_gmean_us"
set ylabel "energy_gmean_uj"
plot 'pareto.dat' index 0 with points pointtype 6 pointsize 1.2 title "all points", 'pareto.dat' index 1 with points pointtype 7 pointsize 1.2 title "Pareto front (of all objectives)"
