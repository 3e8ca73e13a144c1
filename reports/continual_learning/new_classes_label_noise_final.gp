set terminal svg size 720,440 dynamic noenhanced font 'sans,12' background rgb 'white'
set output 'new_classes_label_noise_final.svg'
set grid
set key outside right top font ',10'
set xlabel "share of each update set with wrong labels"
set ylabel "final test accuracy, all classes known (%)"
plot 'new_classes_label_noise_final.dat' index 0 using 1:3:4 with filledcurves fillstyle transparent solid 0.18 noborder lt 1 notitle, 'new_classes_label_noise_final.dat' index 0 using 1:2 with linespoints pointsize 1 lt 1 title "float model", 'new_classes_label_noise_final.dat' index 1 using 1:3:4 with filledcurves fillstyle transparent solid 0.18 noborder lt 2 notitle, 'new_classes_label_noise_final.dat' index 1 using 1:2 with linespoints pointsize 1 dashtype 2 lt 2 title "on the chip"
