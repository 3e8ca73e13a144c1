set terminal svg size 720,440 dynamic noenhanced font 'sans,12' background rgb 'white'
set output 'heatmap_energy_gmean_uj_matrix_unit_rows_matrix_unit_cols.svg'
set xlabel "matrix_unit.rows"
set ylabel "matrix_unit.cols"
set cblabel "energy_gmean_uj"
set xtics ("128" 0, "256" 1, "512" 2)
set ytics ("128" 0, "256" 1, "512" 2)
set xrange [-0.5:2.5]
set yrange [-0.5:2.5]
set palette defined (0 '#ffffcc', 1 '#a1dab4', 2 '#41b6c4', 3 '#2c7fb8')
set datafile missing 'NaN'
unset key
plot 'heatmap_energy_gmean_uj_matrix_unit_rows_matrix_unit_cols.dat' matrix with image pixels, 'heatmap_energy_gmean_uj_matrix_unit_rows_matrix_unit_cols.dat' matrix using 1:2:($3 == $3 ? sprintf('%.4g', $3) : '') with labels font ',10'
