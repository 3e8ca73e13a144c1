set terminal svg size 720,440 dynamic noenhanced font 'sans,12' background rgb 'white'
set output 'compressed_on_the_chip.svg'
set grid
set key outside right top font ',10'
set xlabel "update step"
set ylabel "test accuracy over the classes known (%)"
plot 'compressed_on_the_chip.dat' index 0 using 1:3:4 with filledcurves fillstyle transparent solid 0.18 noborder lt 1 notitle, 'compressed_on_the_chip.dat' index 0 using 1:2 with linespoints pointsize 0.8 dashtype 1 lt 1 title "dense int8", 'compressed_on_the_chip.dat' index 1 using 1:3:4 with filledcurves fillstyle transparent solid 0.18 noborder lt 2 notitle, 'compressed_on_the_chip.dat' index 1 using 1:2 with linespoints pointsize 0.8 dashtype 2 lt 2 title "recluster codebooks", 'compressed_on_the_chip.dat' index 2 using 1:3:4 with filledcurves fillstyle transparent solid 0.18 noborder lt 3 notitle, 'compressed_on_the_chip.dat' index 2 using 1:2 with linespoints pointsize 0.8 dashtype 3 lt 3 title "frozen codebooks"
