; A 3x3 convolution of a 6x6 image with 8 input channels into 8 output
; channels, on an 8x8 array: one mmul per filter tap, each walking the image
; with strides and accumulating into the same 4x4 block of output rows.
; Every pixel is one 8-byte unified-buffer vector (its channels).

.equ C, 8                  ; channels in and out
.equ W, 6                  ; input width and height
.equ OW, W-2               ; output width and height (valid padding)
.equ PIX, C                ; bytes per pixel in the unified buffer
.equ IMG, 0x0
.equ OUT, 0x400

.tensor image input i8 [1,6,6,8] host=0x0 scale=0.02
.tensor features output i8 [1,4,4,8] host=0x1000 scale=0.05

; Expected: every output sums 9 taps x 8 channels of 3s = 216, requantized by
; 0.625 / 8 to 16.875 -> 17, within relu6's range of 6 * 2^4 = 96. (`tpusim check`)
.expect host 0x1000 17*128
.expect counter matrix_unit.array_active_cycles 144

.text
        rhm host=0 ub=IMG len=W*W*PIX
        rdw dram=filters k=C n=C repeat=9                   ; nine taps, one tile each
        sync units=host
tap0:   mmul ub=IMG+(0*W+0)*PIX acc=0 rows=OW lines=OW stride=PIX line_stride=W*PIX swap
        mmul ub=IMG+(0*W+1)*PIX acc=0 rows=OW lines=OW stride=PIX line_stride=W*PIX swap accumulate
        mmul ub=IMG+(0*W+2)*PIX acc=0 rows=OW lines=OW stride=PIX line_stride=W*PIX swap accumulate
        mmul ub=IMG+(1*W+0)*PIX acc=0 rows=OW lines=OW stride=PIX line_stride=W*PIX swap accumulate
        mmul ub=IMG+(1*W+1)*PIX acc=0 rows=OW lines=OW stride=PIX line_stride=W*PIX swap accumulate
        mmul ub=IMG+(1*W+2)*PIX acc=0 rows=OW lines=OW stride=PIX line_stride=W*PIX swap accumulate
        mmul ub=IMG+(2*W+0)*PIX acc=0 rows=OW lines=OW stride=PIX line_stride=W*PIX swap accumulate
        mmul ub=IMG+(2*W+1)*PIX acc=0 rows=OW lines=OW stride=PIX line_stride=W*PIX swap accumulate
        mmul ub=IMG+(2*W+2)*PIX acc=0 rows=OW lines=OW stride=PIX line_stride=W*PIX swap accumulate
        sync units=matrix
        act acc=0 ub=OUT rows=OW*OW cols=C stride=PIX func=relu6 frac=4 mult=0x50000000 shift=3
        sync units=activation
        whm host=0x1000 ub=OUT len=OW*OW*PIX
        halt

.dram
filters: .fill 9*C*C, 1             ; all-ones filters: each output sums its window

.host
.org 0x0
.fill W*W*PIX, 3
.org 0x1000
.fill OW*OW*PIX, 0
