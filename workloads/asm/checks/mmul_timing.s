; An instruction test as users write them: one weight tile and one multiply on
; the tiny chip, with the cycles derived by hand from its configuration
; (700 MHz; host link 15.75 GB/s, 1000 ns; weight DRAM 34 GB/s, 100 ns, 64-byte
; bursts; 4 pipeline stages; an 8 x 8 array). Run with `tpusim check FILE`.
;
;   word i arrives at 2 + 700 + ceil(32 i * 700 / 15750): 702, 704, 705
;   issue = arrival + 3: rdw 705, mmul 707, halt 708
;   the tile: requested at 706, 64 bytes take ceil(64 * 700 / 34000) = 2 cycles,
;   then 70 cycles of latency: it arrives at 778 and shifts in 8 cycles, to 786
;   the mmul could start at 708 and waits 70 cycles (stall) + 8 (shift)
;   its 4 vectors enter at 786..789; the last result is written at 789 + 8 + 7,
;   so everything is done, and halt retires, at 805.
.config ../../../configs/tiny.yaml
.expect cycles 805 805
.expect counter matrix_unit.weight_stall_cycles 70
.expect counter matrix_unit.weight_shift_cycles 8
.expect counter matrix_unit.array_active_cycles 4
.expect counter matrix_unit.useful_macs 256

        rdw dram=0 k=8 n=8
        mmul ub=0 acc=0 rows=4 stride=8 swap
        halt
