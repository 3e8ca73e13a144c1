set terminal svg size 720,440 dynamic noenhanced font 'sans,12' background rgb 'white'
set output 'storage.svg'
set grid
set key outside right top font ',10'
set xlabel "stage"
set ylabel "bytes stored (log)"
set logscale y 10
set xtics ("dense float32" 1, "pruned (P)" 2, "P+Q" 3, "P+Q+H" 4)
set boxwidth 0.18
set style fill solid 0.6
plot 'storage.dat' index 0 with boxes title "lenet_300_100", 'storage.dat' index 1 with boxes title "lenet5"
