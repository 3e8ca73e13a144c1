set terminal svg size 720,440 dynamic noenhanced font 'sans,12' background rgb 'white'
set output 'latency_us_vs_unified_buffer_size_bytes.svg'
set grid
set key outside right top font ',10'
set xlabel "unified_buffer.size_bytes"
set ylabel "latency_us"
plot 'latency_us_vs_unified_buffer_size_bytes.dat' index 0 with linespoints pointsize 1.1 title "resnet50", 'latency_us_vs_unified_buffer_size_bytes.dat' index 1 with linespoints pointsize 1.1 title "mlp0", 'latency_us_vs_unified_buffer_size_bytes.dat' index 2 with linespoints pointsize 1.1 title "lstm0", 'latency_us_vs_unified_buffer_size_bytes.dat' index 3 with linespoints pointsize 1.1 title "bert_base_encoder"
