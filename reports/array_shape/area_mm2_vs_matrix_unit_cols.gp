set terminal svg size 720,440 dynamic noenhanced font 'sans,12' background rgb 'white'
set output 'area_mm2_vs_matrix_unit_cols.svg'
set grid
set key outside right top font ',10'
set xlabel "matrix_unit.cols"
set ylabel "area_mm2 (area.total_mm2)"
plot 'area_mm2_vs_matrix_unit_cols.dat' index 0 with linespoints pointsize 1.1 title "resnet50", 'area_mm2_vs_matrix_unit_cols.dat' index 1 with linespoints pointsize 1.1 title "mlp0", 'area_mm2_vs_matrix_unit_cols.dat' index 2 with linespoints pointsize 1.1 title "lstm0", 'area_mm2_vs_matrix_unit_cols.dat' index 3 with linespoints pointsize 1.1 title "bert_base_encoder"
