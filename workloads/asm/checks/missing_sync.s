; A program that forgets a sync: the activation unit would read accumulators
; the matrix unit is still writing. The chip stops with a hazard fault that
; names both instructions and the fix.
.config ../../../configs/tiny.yaml
.expect fault 2 "add `sync units=matrix`"

        rdw dram=0 k=8 n=8
        mmul ub=0 acc=0 rows=4 stride=8 swap
        act acc=0 ub=0x100 rows=4 cols=8 stride=8 mult=0x40000000
        halt
