// SPDX-License-Identifier: GPL-2.0
/*
 * Layout of every structure of include/uapi/linux/vbackend.h.
 *
 * run.sh compiles this file to assembly twice, with -m64 and -m32, and
 * reads the sizes and offsets back from the "->" lines the compiler emits
 * (the technique of the kernel's asm-offsets.c): nothing has to run, so the
 * i386 half works on hosts without 32-bit emulation too. Both layouts must
 * be identical, so a 32-bit process and a 64-bit kernel agree on every
 * byte, and the fields listed here must cover every byte of each structure:
 * that catches implicit padding and a field added to the header but not to
 * this file. The sizes are frozen with _Static_assert: changing one is an
 * ABI break.
 */
#include <stddef.h>
#include <linux/vbackend.h>

#define SIZE_INFO		72
#define SIZE_PROVIDER_INFO	48
#define SIZE_BIND		32
#define SIZE_WINDOW		40
#define SIZE_MEM_REGION		32
#define SIZE_ID			16
#define SIZE_TRAP		32
#define SIZE_KICK		40
#define SIZE_IRQ		48
#define SIZE_ACCESS		32
#define SIZE_EVENT		64
#define SIZE_COMPLETION		24
#define SIZE_VMM_CTL		16
#define SIZE_VMM_MEMORY		40
#define SIZE_VMM_ACCESS		48
#define SIZE_VMM_NOTIFIER	24
#define SIZE_SESSION_INFO	32

#define FROZEN(s, n) _Static_assert(sizeof(struct s) == (n), \
				    "sizeof(struct " #s ") changed: ABI break")
FROZEN(vbackend_info, SIZE_INFO);
FROZEN(vbackend_provider_info, SIZE_PROVIDER_INFO);
FROZEN(vbackend_bind, SIZE_BIND);
FROZEN(vbackend_window, SIZE_WINDOW);
FROZEN(vbackend_mem_region, SIZE_MEM_REGION);
FROZEN(vbackend_id, SIZE_ID);
FROZEN(vbackend_trap, SIZE_TRAP);
FROZEN(vbackend_kick, SIZE_KICK);
FROZEN(vbackend_irq, SIZE_IRQ);
FROZEN(vbackend_access, SIZE_ACCESS);
FROZEN(vbackend_event, SIZE_EVENT);
FROZEN(vbackend_completion, SIZE_COMPLETION);
FROZEN(vbackend_vmm_ctl, SIZE_VMM_CTL);
FROZEN(vbackend_vmm_memory, SIZE_VMM_MEMORY);
FROZEN(vbackend_vmm_access, SIZE_VMM_ACCESS);
FROZEN(vbackend_vmm_notifier, SIZE_VMM_NOTIFIER);
FROZEN(vbackend_session_info, SIZE_SESSION_INFO);

/* "->struct NAME SIZE ALIGN EXPECTED" */
#define S(s, n)								\
	asm volatile("\n.ascii \"->struct " #s " %c0 %c1 %c2\""	\
		     : : "i" (sizeof(struct s)),			\
			 "i" (_Alignof(struct s)), "i" (n))
/* "->field NAME OFFSET SIZE" (NAME may be a path into a union) */
#define F(s, f)								\
	asm volatile("\n.ascii \"->field " #f " %c0 %c1\""		\
		     : : "i" (offsetof(struct s, f)),			\
			 "i" (sizeof(((struct s *)0)->f)))
/*
 * "->const NAME HIGH LOW": the value in two 16-bit halves, because x86-64
 * immediates are sign-extended 32-bit numbers and an ioctl number such as
 * 0xc048be00 is not one.
 */
#define C(x)								\
	asm volatile("\n.ascii \"->const " #x " %c0 %c1\""		\
		     : : "i" (((x) >> 16) & 0xffff), "i" ((x) & 0xffff))

void layout(void);

void layout(void)
{
	S(vbackend_info, SIZE_INFO);
	F(vbackend_info, argsz);
	F(vbackend_info, flags);
	F(vbackend_info, api_version);
	F(vbackend_info, providers);
	F(vbackend_info, features);
	F(vbackend_info, max_windows);
	F(vbackend_info, max_traps);
	F(vbackend_info, max_kicks);
	F(vbackend_info, max_irqs);
	F(vbackend_info, max_pending);
	F(vbackend_info, event_size);
	F(vbackend_info, completion_size);
	F(vbackend_info, reserved);

	S(vbackend_provider_info, SIZE_PROVIDER_INFO);
	F(vbackend_provider_info, argsz);
	F(vbackend_provider_info, flags);
	F(vbackend_provider_info, id);
	F(vbackend_provider_info, caps);
	F(vbackend_provider_info, name);
	F(vbackend_provider_info, irq_targets);
	F(vbackend_provider_info, reserved);

	S(vbackend_bind, SIZE_BIND);
	F(vbackend_bind, argsz);
	F(vbackend_bind, flags);
	F(vbackend_bind, target);
	F(vbackend_bind, target_len);
	F(vbackend_bind, provider);
	F(vbackend_bind, reserved);

	S(vbackend_window, SIZE_WINDOW);
	F(vbackend_window, argsz);
	F(vbackend_window, flags);
	F(vbackend_window, gpa);
	F(vbackend_window, size);
	F(vbackend_window, offset);
	F(vbackend_window, id);
	F(vbackend_window, reserved);

	S(vbackend_mem_region, SIZE_MEM_REGION);
	F(vbackend_mem_region, argsz);
	F(vbackend_mem_region, flags);
	F(vbackend_mem_region, index);
	F(vbackend_mem_region, reserved);
	F(vbackend_mem_region, gpa);
	F(vbackend_mem_region, size);

	S(vbackend_id, SIZE_ID);
	F(vbackend_id, argsz);
	F(vbackend_id, flags);
	F(vbackend_id, id);
	F(vbackend_id, reserved);

	S(vbackend_trap, SIZE_TRAP);
	F(vbackend_trap, argsz);
	F(vbackend_trap, flags);
	F(vbackend_trap, addr);
	F(vbackend_trap, size);
	F(vbackend_trap, id);
	F(vbackend_trap, reserved);

	S(vbackend_kick, SIZE_KICK);
	F(vbackend_kick, argsz);
	F(vbackend_kick, flags);
	F(vbackend_kick, addr);
	F(vbackend_kick, data);
	F(vbackend_kick, fd);
	F(vbackend_kick, len);
	F(vbackend_kick, id);
	F(vbackend_kick, reserved);

	S(vbackend_irq, SIZE_IRQ);
	F(vbackend_irq, argsz);
	F(vbackend_irq, flags);
	F(vbackend_irq, fd);
	F(vbackend_irq, type);
	F(vbackend_irq, target);
	F(vbackend_irq, id);
	F(vbackend_irq, reserved);

	S(vbackend_access, SIZE_ACCESS);
	F(vbackend_access, addr);
	F(vbackend_access, data);
	F(vbackend_access, vcpu);
	F(vbackend_access, size);
	F(vbackend_access, space);
	F(vbackend_access, dir);
	F(vbackend_access, reserved0);
	F(vbackend_access, reserved);

	S(vbackend_event, SIZE_EVENT);
	F(vbackend_event, type);
	F(vbackend_event, flags);
	F(vbackend_event, seq);
	F(vbackend_event, u);
	F(vbackend_event, u.access);
	F(vbackend_event, u.access.addr);
	F(vbackend_event, u.access.data);
	F(vbackend_event, u.access.vcpu);
	F(vbackend_event, u.access.size);
	F(vbackend_event, u.access.space);
	F(vbackend_event, u.access.dir);
	F(vbackend_event, u.access.reserved0);
	F(vbackend_event, u.access.reserved);
	F(vbackend_event, u.status);
	F(vbackend_event, u.status.error);
	F(vbackend_event, u.status.reserved);
	F(vbackend_event, u.irq);
	F(vbackend_event, u.irq.id);
	F(vbackend_event, u.irq.reserved);
	F(vbackend_event, u.raw);

	S(vbackend_completion, SIZE_COMPLETION);
	F(vbackend_completion, seq);
	F(vbackend_completion, data);
	F(vbackend_completion, flags);
	F(vbackend_completion, reserved);

	S(vbackend_vmm_ctl, SIZE_VMM_CTL);
	F(vbackend_vmm_ctl, argsz);
	F(vbackend_vmm_ctl, flags);
	F(vbackend_vmm_ctl, reserved);

	S(vbackend_vmm_memory, SIZE_VMM_MEMORY);
	F(vbackend_vmm_memory, argsz);
	F(vbackend_vmm_memory, flags);
	F(vbackend_vmm_memory, gpa);
	F(vbackend_vmm_memory, size);
	F(vbackend_vmm_memory, offset);
	F(vbackend_vmm_memory, fd);
	F(vbackend_vmm_memory, reserved);

	S(vbackend_vmm_access, SIZE_VMM_ACCESS);
	F(vbackend_vmm_access, argsz);
	F(vbackend_vmm_access, flags);
	F(vbackend_vmm_access, addr);
	F(vbackend_vmm_access, data);
	F(vbackend_vmm_access, vcpu);
	F(vbackend_vmm_access, size);
	F(vbackend_vmm_access, dir);
	F(vbackend_vmm_access, result);
	F(vbackend_vmm_access, reserved);

	S(vbackend_session_info, SIZE_SESSION_INFO);
	F(vbackend_session_info, argsz);
	F(vbackend_session_info, flags);
	F(vbackend_session_info, role);
	F(vbackend_session_info, provider);
	F(vbackend_session_info, irq_targets);
	F(vbackend_session_info, reserved);

	S(vbackend_vmm_notifier, SIZE_VMM_NOTIFIER);
	F(vbackend_vmm_notifier, argsz);
	F(vbackend_vmm_notifier, flags);
	F(vbackend_vmm_notifier, id);
	F(vbackend_vmm_notifier, fd);
	F(vbackend_vmm_notifier, reserved);

	/* The ioctl numbers encode the sizes: they must agree as well. */
	C(VBACKEND_GET_INFO);
	C(VBACKEND_GET_PROVIDER);
	C(VBACKEND_BIND);
	C(VBACKEND_GET_SESSION);
	C(VBACKEND_WINDOW_MAP);
	C(VBACKEND_WINDOW_UNMAP);
	C(VBACKEND_MEM_REGION);
	C(VBACKEND_TRAP_ADD);
	C(VBACKEND_TRAP_DEL);
	C(VBACKEND_KICK_ADD);
	C(VBACKEND_KICK_DEL);
	C(VBACKEND_IRQ_ADD);
	C(VBACKEND_IRQ_DEL);
	C(VBACKEND_VMM_CREATE);
	C(VBACKEND_VMM_ADD_MEMORY);
	C(VBACKEND_VMM_ACCESS);
	C(VBACKEND_VMM_GET_KICK);
	C(VBACKEND_VMM_GET_IRQ);
	C(VBACKEND_VMM_RESET);
	C(VBACKEND_VMM_SET_KICK_FD);
	C(VBACKEND_VMM_SET_IRQ_FD);
	C(VBACKEND_API_VERSION);
	C(VBACKEND_TARGET_MAX);
}
