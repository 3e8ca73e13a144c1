set terminal svg size 720,440 dynamic noenhanced font 'sans,12' background rgb 'white'
set output 'chip_against_float.svg'
set grid
set key outside right top font ',10'
set xlabel "update step"
set ylabel "test accuracy over the classes known (%)"
plot 'chip_against_float.dat' index 0 using 1:3:4 with filledcurves fillstyle transparent solid 0.18 noborder lt 1 notitle, 'chip_against_float.dat' index 0 using 1:2 with linespoints pointsize 0.8 dashtype 1 lt 1 title "new_classes, float", 'chip_against_float.dat' index 1 using 1:3:4 with filledcurves fillstyle transparent solid 0.18 noborder lt 2 notitle, 'chip_against_float.dat' index 1 using 1:2 with linespoints pointsize 0.8 dashtype 2 lt 2 title "new_classes, on the chip", 'chip_against_float.dat' index 2 using 1:3:4 with filledcurves fillstyle transparent solid 0.18 noborder lt 3 notitle, 'chip_against_float.dat' index 2 using 1:2 with linespoints pointsize 0.8 dashtype 3 lt 3 title "growing_data, float", 'chip_against_float.dat' index 3 using 1:3:4 with filledcurves fillstyle transparent solid 0.18 noborder lt 4 notitle, 'chip_against_float.dat' index 3 using 1:2 with linespoints pointsize 0.8 dashtype 4 lt 4 title "growing_data, on the chip"
