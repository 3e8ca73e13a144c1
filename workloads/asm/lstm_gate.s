; The elementwise half of an LSTM cell step on 16 lanes, after the gate
; pre-activations i, f, g, o are in the unified buffer:
;   c' = sigmoid(f) * c + sigmoid(i) * tanh(g)
;   h' = sigmoid(o) * tanh(c')
; Gate inputs are fixed point with 4 fraction bits; sigmoid outputs have
; scale 1/256 and zero point -128, tanh outputs scale 1/128.

.equ L, 16
.equ I, 0x000
.equ F, 0x010
.equ G, 0x020
.equ O, 0x030
.equ CELL, 0x040
.equ T0, 0x100
.equ T1, 0x110
.equ T2, 0x120
.equ T3, 0x130
.equ HOUT, 0x200

.tensor gates input i8 [4,16] host=0x0 scale=0.0625
.tensor cell input i8 [16] host=0x40 scale=0.0078125
.tensor h output i8 [16] host=0x200 scale=0.0078125

; Expected values computed independently (exact integer arithmetic in another
; language, following isa/ISA.md). (`tpusim check`)
.expect host 0x200 17, 0, 18, 18, 14, 79, 0, 54, -12, -19, -25, -29, -34, -38, -44, -45
.expect ub CELL 17, 31, 38, 36, 29, 96, 15, 68, -17, -32, -46, -59, -72, -88, -112, -128

.text
        rhm host=0 ub=I len=5*L
        sync units=host
        setcfg reg=round value=1                    ; round half to even
        ; sigmoid(f), sigmoid(i), tanh(g), sigmoid(o): identity pass through the lookup tables
        vop op=add a=F b=F dst=T0 len=L mb=0 mult=0x7fffffff func=sigmoid frac=4
        vop op=add a=I b=I dst=T1 len=L mb=0 mult=0x7fffffff func=sigmoid frac=4
        vop op=add a=G b=G dst=T2 len=L mb=0 mult=0x7fffffff func=tanh frac=4
        vop op=add a=O b=O dst=T3 len=L mb=0 mult=0x7fffffff func=sigmoid frac=4
        sync units=activation
        vop op=mul a=T0 b=CELL dst=T0 len=L za=-128 mult=0x40000000 shift=7      ; f*c
        vop op=mul a=T1 b=T2 dst=T1 len=L za=-128 mult=0x40000000 shift=7        ; i*g
        sync units=activation
        vop op=add a=T0 b=T1 dst=CELL len=L mult=0x7fffffff                       ; c'
        sync units=activation
        vop op=add a=CELL b=CELL dst=T2 len=L mb=0 mult=0x7fffffff func=tanh frac=7
        sync units=activation
        vop op=mul a=T3 b=T2 dst=HOUT len=L za=-128 mult=0x40000000 shift=7      ; h'
        sync units=activation
        whm host=0x200 ub=HOUT len=L
        intr code=1
        halt

.host
.org 0x0
.byte 16, 8, 0, -8, -16, 32, -32, 4, 1, 2, 3, 4, 5, 6, 7, 8          ; i
.byte -16, -8, 0, 8, 16, -32, 32, -4, 1, 2, 3, 4, 5, 6, 7, 8         ; f
.byte 0, 4, 8, 12, 16, 20, 24, 28, -4, -8, -12, -16, -20, -24, -28, -32 ; g
.byte 127, -128, 0, 1, -1, 64, -64, 32, 16, 8, 4, 2, 1, 0, -1, -2    ; o
.byte 64, 32, 16, 8, 4, 2, 1, 0, -1, -2, -4, -8, -16, -32, -64, -128 ; c
.org 0x200
.fill 16, 0
