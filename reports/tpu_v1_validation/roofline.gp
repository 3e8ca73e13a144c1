set terminal svg size 720,440 dynamic noenhanced font 'sans,12' background rgb 'white'
set output 'roofline.svg'
set grid
set key inside left top font ',10'
set xlabel "MACs per weight byte (operational intensity)"
set ylabel "TOPS"
set logscale x 10
set logscale y 10
set xrange [10:10000]
set yrange [0.5:200]
set label "MLP0" at 190.735,11.8964 offset char 0.8,0.7 font ',10'
set label "MLP1" at 128.625,7.76162 offset char 0.8,0.7 font ',10'
set label "LSTM0" at 46.9444,3.12689 offset char 0.8,0.7 font ',10'
set label "LSTM1" at 71.2933,4.42758 offset char 0.8,0.7 font ',10'
set label "CNN0" at 1444,69.2113 offset char 0.8,0.7 font ',10'
set label "CNN1" at 926.537,49.2682 offset char 0.8,0.7 font ',10'
plot 'roofline.dat' index 0 with lines lw 2 lc rgb 'black' title "roofline: min(peak, 2 x weight bandwidth x intensity)", 'roofline.dat' index 1 with points pointtype 7 pointsize 1.3 lc rgb '#1f77b4' title "simulated, at the weight bytes the run moved", 'roofline.dat' index 2 with points pointtype 5 pointsize 1.1 lc rgb '#d62728' title "measured (Jouppi et al. 2017, Table 3), at the model's"
