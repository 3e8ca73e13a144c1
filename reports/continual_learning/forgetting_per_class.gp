set terminal svg size 720,440 dynamic noenhanced font 'sans,12' background rgb 'white'
set output 'forgetting_per_class.svg'
set grid
set key outside right top font ',10'
set xlabel "class"
set ylabel "forgetting (points): best earlier accuracy less the final"
set xrange [-0.59999999999999998:9.5999999999999996]
set xtics rotate by -30 ("T-shirt/top" 0, "Trouser" 1, "Pullover" 2, "Dress" 3, "Coat" 4, "Sandal" 5, "Shirt" 6, "Sneaker" 7, "Bag" 8, "Ankle boot" 9)
set boxwidth 0.400
set style fill solid 0.6 border -1
plot 'forgetting_per_class.dat' index 0 with boxes title "new_classes (epochs 4)", 'forgetting_per_class.dat' index 1 with boxes title "growing_data (epochs 4)"
