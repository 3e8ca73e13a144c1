; One fully connected layer on a 4x4 array: y = relu(requant(x * W)) for a
; batch of 2 vectors of 4 int8 inputs, 4 outputs each.
;
; Data flow: host memory -> unified buffer (rhm), weight DRAM -> weight FIFO
; (rdw), unified buffer x weight tile -> accumulators (mmul), accumulators ->
; requantize + ReLU -> unified buffer (act), unified buffer -> host (whm).

.equ K, 4                  ; input lanes (array rows)
.equ N, 4                  ; output lanes (array columns)
.equ B, 2                  ; batch
.equ X_UB, 0x0             ; unified-buffer layout
.equ Y_UB, 0x100

.tensor x input i8 [2,4] host=x_host scale=0.05 zp=0
.tensor y output i8 [2,4] host=y_host scale=0.1 zp=0
.meta model "fc_layer example"

; Expected, by hand: y = relu(round(x.W / 8)), saturated; for example
; y[0][3] = 10*4 + 20*2 + 30*-5 + 40*127 = 5010 -> 626 -> 127. (`tpusim check`)
.expect host y_host 18, 0, 25, 127, 0, 2, 0, 0
.expect counter matrix_unit.useful_macs 32

.text
        rhm host=x_host ub=X_UB len=K repeat=B host_stride=K ub_stride=K
        rdw dram=w_tile k=K n=N
        sync units=host                             ; x must be in the buffer
        mmul ub=X_UB acc=0 rows=B stride=K swap
        sync units=matrix                           ; accumulators written
        act acc=0 ub=Y_UB rows=B cols=N stride=N func=relu mult=0x40000000 shift=2
        sync units=activation
        whm host=y_host ub=Y_UB len=N repeat=B host_stride=N ub_stride=N
        halt

.dram
w_tile: .byte  1,  2,  3,  4        ; row k of the tile: weights from input k to each output
        .byte -1,  0,  1,  2
        .byte  5, -5,  5, -5
        .byte  0,  0,  0, 127

.host
x_host: .byte 10, 20, 30, 40
        .byte -1, -2, -3, -4
y_host: .fill B*N, 0
