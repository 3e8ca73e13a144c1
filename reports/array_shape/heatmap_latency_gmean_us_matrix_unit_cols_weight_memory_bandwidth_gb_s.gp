set terminal svg size 720,440 dynamic noenhanced font 'sans,12' background rgb 'white'
set output 'heatmap_latency_gmean_us_matrix_unit_cols_weight_memory_bandwidth_gb_s.svg'
set xlabel "matrix_unit.cols"
set ylabel "weight_memory.bandwidth_gb_s"
set cblabel "latency_gmean_us"
set xtics ("128" 0, "256" 1, "512" 2)
set ytics ("34" 0, "136" 1)
set xrange [-0.5:2.5]
set yrange [-0.5:1.5]
set palette defined (0 '#ffffcc', 1 '#a1dab4', 2 '#41b6c4', 3 '#2c7fb8')
set datafile missing 'NaN'
unset key
plot 'heatmap_latency_gmean_us_matrix_unit_cols_weight_memory_bandwidth_gb_s.dat' matrix with image pixels, 'heatmap_latency_gmean_us_matrix_unit_cols_weight_memory_bandwidth_gb_s.dat' matrix using 1:2:($3 == $3 ? sprintf('%.4g', $3) : '') with labels font ',10'
