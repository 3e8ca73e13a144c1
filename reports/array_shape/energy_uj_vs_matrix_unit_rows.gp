set terminal svg size 720,440 dynamic noenhanced font 'sans,12' background rgb 'white'
set output 'energy_uj_vs_matrix_unit_rows.svg'
set grid
set key outside right top font ',10'
set xlabel "matrix_unit.rows"
set ylabel "energy_uj (energy.per_inference_uj)"
plot 'energy_uj_vs_matrix_unit_rows.dat' index 0 with linespoints pointsize 1.1 title "resnet50", 'energy_uj_vs_matrix_unit_rows.dat' index 1 with linespoints pointsize 1.1 title "mlp0", 'energy_uj_vs_matrix_unit_rows.dat' index 2 with linespoints pointsize 1.1 title "lstm0", 'energy_uj_vs_matrix_unit_rows.dat' index 3 with linespoints pointsize 1.1 title "bert_base_encoder"
