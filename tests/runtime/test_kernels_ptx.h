// Hand-written PTX for the runtime tests: vector_add (c[i] = a[i] + b[i] for i < n) and
// reverse_in_block (each block reverses its slice of a into c through dynamic shared
// memory, so a launch with more than 48 KiB of it exercises the opt-in).
#pragma once

namespace uintx::testing {

inline constexpr const char* kTestKernelsPtx = R"(
.version 8.0
.target sm_90a
.address_size 64

.visible .entry vector_add(
    .param .u64 param_a,
    .param .u64 param_b,
    .param .u64 param_c,
    .param .u32 param_n
)
{
    .reg .pred  %p<2>;
    .reg .b32   %r<6>;
    .reg .f32   %f<4>;
    .reg .b64   %rd<10>;

    ld.param.u64        %rd1, [param_a];
    ld.param.u64        %rd2, [param_b];
    ld.param.u64        %rd3, [param_c];
    ld.param.u32        %r1, [param_n];
    mov.u32             %r2, %ctaid.x;
    mov.u32             %r3, %ntid.x;
    mov.u32             %r4, %tid.x;
    mad.lo.s32          %r5, %r2, %r3, %r4;
    setp.ge.u32         %p1, %r5, %r1;
    @%p1 bra            VECTOR_ADD_DONE;
    cvta.to.global.u64  %rd4, %rd1;
    cvta.to.global.u64  %rd5, %rd2;
    cvta.to.global.u64  %rd6, %rd3;
    mul.wide.u32        %rd7, %r5, 4;
    add.s64             %rd8, %rd4, %rd7;
    ld.global.f32       %f1, [%rd8];
    add.s64             %rd9, %rd5, %rd7;
    ld.global.f32       %f2, [%rd9];
    add.rn.f32          %f3, %f1, %f2;
    add.s64             %rd8, %rd6, %rd7;
    st.global.f32       [%rd8], %f3;
VECTOR_ADD_DONE:
    ret;
}

.extern .shared .align 16 .b8 dynamic_smem[];

.visible .entry reverse_in_block(
    .param .u64 param_a,
    .param .u64 param_c
)
{
    .reg .b32   %r<10>;
    .reg .f32   %f<2>;
    .reg .b64   %rd<10>;

    ld.param.u64        %rd1, [param_a];
    ld.param.u64        %rd2, [param_c];
    cvta.to.global.u64  %rd1, %rd1;
    cvta.to.global.u64  %rd2, %rd2;
    mov.u32             %r1, %ctaid.x;
    mov.u32             %r2, %ntid.x;
    mov.u32             %r3, %tid.x;
    mad.lo.s32          %r4, %r1, %r2, %r3;
    mul.wide.u32        %rd3, %r4, 4;
    add.s64             %rd4, %rd1, %rd3;
    ld.global.f32       %f1, [%rd4];
    // Store at the top of the dynamic shared memory so that the whole allocation is used.
    mov.u32             %r5, dynamic_smem;
    mov.u32             %r6, %dynamic_smem_size;
    add.s32             %r5, %r5, %r6;
    shl.b32             %r7, %r2, 2;
    sub.s32             %r5, %r5, %r7;
    shl.b32             %r8, %r3, 2;
    add.s32             %r9, %r5, %r8;
    st.shared.f32       [%r9], %f1;
    bar.sync            0;
    sub.s32             %r8, %r2, %r3;
    sub.s32             %r8, %r8, 1;
    shl.b32             %r8, %r8, 2;
    add.s32             %r9, %r5, %r8;
    ld.shared.f32       %f1, [%r9];
    add.s64             %rd5, %rd2, %rd3;
    st.global.f32       [%rd5], %f1;
    ret;
}
)";

}  // namespace uintx::testing
