// SPDX-License-Identifier: GPL-2.0
/*
 * vbackend: every command with its structure grown and shrunk.
 *
 * Commands are matched on their type and number (VBACKEND_FEATURE_IOCTL_NR),
 * so a program built against a newer header, whose structure has grown,
 * issues the same command. Each variant below is one command, issued on a
 * session where its v1 call succeeds; each test gives it a structure of
 * another size, with the command's size bits saying that size too:
 *   grown by 8 zero bytes          accepted, as the v1 call
 *   grown by 8 non-zero bytes      E2BIG, and the v1 call still works
 *   short of v1 (by 1, 8, to 4)    EINVAL
 *   no size or direction bits      accepted (argsz says the size)
 *   another ioctl type             ENOTTY
 */
#include "vbackend_util.h"

#define GROW		8
#define MMIO		0xd0000000ULL	/* the fixture's trap */
#define MMIO_SIZE	0x1000ULL
#define KADDR		(MMIO + 0x40)	/* the fixture's kick */
#define KADDR2		(MMIO + 0x80)	/* KICK_ADD's */
#define KADDR3		(MMIO + 0xc0)	/* the fixture's notifier kick */
#define MMIO2		0xe0000000ULL	/* TRAP_ADD's */
#define GPA		0x100000ULL	/* the fixture's memory */
#define GPA2		0x800000ULL	/* VMM_ADD_MEMORY's */
#define MEM_SIZE	0x10000ULL
#define MSI_ADDR	0xfee00000ULL

union size_arg {
	__u32 argsz;
	struct vbackend_info info;
	struct vbackend_provider_info pi;
	struct vbackend_bind bind;
	struct vbackend_session_info si;
	struct vbackend_window win;
	struct vbackend_mem_region mr;
	struct vbackend_id id;
	struct vbackend_trap trap;
	struct vbackend_kick kick;
	struct vbackend_irq irq;
	struct vbackend_vmm_ctl ctl;
	struct vbackend_vmm_memory mem;
	struct vbackend_vmm_access acc;
	struct vbackend_vmm_notifier notif;
	unsigned char bytes[256];
};

FIXTURE(size) {
	long refcnt0;
	int vmm, be, memfd, kick_efd, irq_efd;
	/* a kick and an interrupt with notifiers, for VMM_SET_*_FD */
	int kick_notifier, irq_notifier;
	__u32 kick_notifier_id, irq_notifier_id;
	/* what a variant's prepare() creates, closed at teardown */
	int extra, extra_vmm, extra_fd;
	char target[32];
};

struct size_object;

/*
 * One command: @prepare fills a valid v1 argument and returns the session to
 * issue it on; @undo (optional) takes back what a successful call made.
 * The ADD and DEL commands name their @object instead (@del: the DEL).
 */
FIXTURE_VARIANT(size) {
	unsigned long cmd;
	size_t v1;
	int (*prepare)(FIXTURE_DATA(size) *self, union size_arg *a);
	void (*undo)(FIXTURE_DATA(size) *self, union size_arg *a);
	const struct size_object *object;
	bool del;
};

FIXTURE_SETUP(size)
{
	self->vmm = self->be = self->memfd = -1;
	self->kick_efd = self->irq_efd = -1;
	self->kick_notifier = self->irq_notifier = -1;
	self->extra = self->extra_vmm = self->extra_fd = -1;
	VB_REQUIRE_DEVICE();
	self->refcnt0 = vb_refcnt_read();
	self->vmm = vmm_create();
	ASSERT_LE(0, self->vmm);
	self->memfd = vmm_add_memfd(self->vmm, GPA, MEM_SIZE);
	ASSERT_LE(0, self->memfd);
	self->be = backend_bind_to(self->vmm);
	ASSERT_LE(0, self->be);
	ASSERT_EQ(0, vb_trap_add(self->be, 0, MMIO, MMIO_SIZE, NULL));
	self->kick_efd = vb_eventfd();
	ASSERT_LE(0, self->kick_efd);
	ASSERT_EQ(0, vb_kick_add(self->be, 0, KADDR, 4, 0, self->kick_efd,
				 NULL));
	self->irq_efd = vb_eventfd();
	ASSERT_LE(0, self->irq_efd);
	ASSERT_EQ(0, vb_irq_add(self->be, self->irq_efd,
				VBACKEND_IRQ_TARGET_MSI, MSI_ADDR, 0x30, NULL));
	self->kick_notifier = vb_kick_notifier(self->be, 0, KADDR3, 4, 0,
					       &self->kick_notifier_id);
	ASSERT_LE(0, self->kick_notifier);
	self->irq_notifier = vb_irq_notifier(self->be, VBACKEND_IRQ_TARGET_MSI,
					     MSI_ADDR, 0x32,
					     &self->irq_notifier_id);
	ASSERT_LE(0, self->irq_notifier);
}

FIXTURE_TEARDOWN(size)
{
	vb_close(&self->extra_fd);
	vb_close(&self->extra);
	vb_close(&self->extra_vmm);
	vb_close(&self->be);
	vb_close(&self->vmm);
	vb_close(&self->memfd);
	vb_close(&self->kick_efd);
	vb_close(&self->irq_efd);
	vb_close(&self->kick_notifier);
	vb_close(&self->irq_notifier);
	VB_EXPECT_NO_LEAKS(self->refcnt0);
}

/*
 * Issue @cmd with the structure in @a as @size bytes, the bytes past @v1
 * set to @tail, and @size in the command's size bits too. The kernel's
 * answer is copied back into @a.
 */
static int issue_sized(int fd, unsigned long cmd, union size_arg *a,
		       size_t v1, size_t size, int tail)
{
	union size_arg buf;
	int ret;

	memset(&buf, tail, sizeof(buf));
	memcpy(&buf, a, size < v1 ? size : v1);
	buf.argsz = size;
	ret = ioctl(fd, _IOC(_IOC_DIR(cmd), _IOC_TYPE(cmd), _IOC_NR(cmd), size),
		    &buf);
	memcpy(a, &buf, v1);
	return ret;
}

/* ---- each command's valid v1 call --------------------------------------- */

static int on_backend(FIXTURE_DATA(size) *self, union size_arg *a)
{
	(void)a;
	return self->be;
}

static int on_vmm(FIXTURE_DATA(size) *self, union size_arg *a)
{
	(void)a;
	return self->vmm;
}

static int prep_provider(FIXTURE_DATA(size) *self, union size_arg *a)
{
	a->pi.id = VBACKEND_PROVIDER_VMM;
	return self->be;
}

/* a new session to bind, to a new VMM (one backend per frontend) */
static int prep_bind(FIXTURE_DATA(size) *self, union size_arg *a)
{
	int len;

	self->extra_vmm = vmm_create();
	self->extra = open_vbackend();
	len = snprintf(self->target, sizeof(self->target), "vmm:fd=%d",
		       self->extra_vmm);
	a->bind.target = (__u64)(uintptr_t)self->target;
	a->bind.target_len = len;
	return self->extra;
}

static void undo_new_session(FIXTURE_DATA(size) *self, union size_arg *a)
{
	(void)a;
	vb_close(&self->extra);
}

static int prep_window(FIXTURE_DATA(size) *self, union size_arg *a)
{
	a->win.flags = VBACKEND_WINDOW_F_READ | VBACKEND_WINDOW_F_WRITE;
	a->win.gpa = GPA;
	a->win.size = MEM_SIZE;
	return self->be;
}

static int prep_trap(FIXTURE_DATA(size) *self, union size_arg *a)
{
	a->trap.addr = MMIO2;
	a->trap.size = MMIO_SIZE;
	return self->be;
}

static int prep_kick(FIXTURE_DATA(size) *self, union size_arg *a)
{
	a->kick.addr = KADDR2;
	a->kick.len = 4;
	a->kick.fd = self->kick_efd;
	return self->be;
}

static int prep_irq(FIXTURE_DATA(size) *self, union size_arg *a)
{
	self->extra_fd = vb_eventfd();
	a->irq.fd = self->extra_fd;
	a->irq.type = VBACKEND_IRQ_TARGET_MSI;
	a->irq.target[0] = MSI_ADDR;
	a->irq.target[1] = 0x31;
	return self->be;
}

/*
 * What the ADD commands make and the DEL commands take back: an ADD's
 * variant is undone by the DEL; a DEL's variant is prepared by the ADD.
 */
struct size_object {
	unsigned long add, del;
	size_t add_v1, id_off;
	int (*fill)(FIXTURE_DATA(size) *self, union size_arg *a);
};

static const struct size_object obj_window = {
	VBACKEND_WINDOW_MAP, VBACKEND_WINDOW_UNMAP,
	sizeof(struct vbackend_window), offsetof(struct vbackend_window, id),
	prep_window,
};

static const struct size_object obj_trap = {
	VBACKEND_TRAP_ADD, VBACKEND_TRAP_DEL,
	sizeof(struct vbackend_trap), offsetof(struct vbackend_trap, id),
	prep_trap,
};

static const struct size_object obj_kick = {
	VBACKEND_KICK_ADD, VBACKEND_KICK_DEL,
	sizeof(struct vbackend_kick), offsetof(struct vbackend_kick, id),
	prep_kick,
};

static const struct size_object obj_irq = {
	VBACKEND_IRQ_ADD, VBACKEND_IRQ_DEL,
	sizeof(struct vbackend_irq), offsetof(struct vbackend_irq, id),
	prep_irq,
};

static __u32 object_id(const struct size_object *o, const union size_arg *a)
{
	__u32 id;

	memcpy(&id, a->bytes + o->id_off, sizeof(id));
	return id;
}

static int prep_vmm_create(FIXTURE_DATA(size) *self, union size_arg *a)
{
	(void)a;
	self->extra = open_vbackend();
	return self->extra;
}

/* a second memfd: VMM_ADD_MEMORY takes it in as a new region */
static int prep_add_memory(FIXTURE_DATA(size) *self, union size_arg *a)
{
	self->extra_fd = vb_memfd(MEM_SIZE);
	a->mem.gpa = GPA2;
	a->mem.size = MEM_SIZE;
	a->mem.fd = self->extra_fd;
	return self->vmm;
}

/* a write to the kick: consumed at once, no backend involved */
static int prep_access(FIXTURE_DATA(size) *self, union size_arg *a)
{
	a->acc.addr = KADDR;
	a->acc.size = 4;
	a->acc.dir = VBACKEND_DIR_WRITE;
	return self->vmm;
}

/* VMM_GET_KICK/IRQ hand out a new descriptor */
static void undo_get_kick(FIXTURE_DATA(size) *self, union size_arg *a)
{
	(void)self;
	close(a->kick.fd);
}

static void undo_get_irq(FIXTURE_DATA(size) *self, union size_arg *a)
{
	(void)self;
	close(a->irq.fd);
}

/* the VMM's eventfd attached to the backend's notifiers */
static int prep_set_kick_fd(FIXTURE_DATA(size) *self, union size_arg *a)
{
	a->notif.id = self->kick_notifier_id;
	a->notif.fd = self->kick_efd;
	return self->vmm;
}

static int prep_set_irq_fd(FIXTURE_DATA(size) *self, union size_arg *a)
{
	a->notif.id = self->irq_notifier_id;
	a->notif.fd = self->irq_efd;
	return self->vmm;
}

#define SIZE_VARIANT(name, c, type, prep, und)				\
	FIXTURE_VARIANT_ADD(size, name) {				\
		.cmd = c,						\
		.v1 = sizeof(type),					\
		.prepare = prep,					\
		.undo = und,						\
	}

#define OBJECT_VARIANTS(name, obj)					\
	FIXTURE_VARIANT_ADD(size, name##_add) {				\
		.cmd = (obj).add,					\
		.v1 = (obj).add_v1,					\
		.object = &(obj),					\
	};								\
	FIXTURE_VARIANT_ADD(size, name##_del) {				\
		.cmd = (obj).del,					\
		.v1 = sizeof(struct vbackend_id),			\
		.object = &(obj),					\
		.del = true,						\
	}

SIZE_VARIANT(get_info, VBACKEND_GET_INFO, struct vbackend_info,
	     on_backend, NULL);
SIZE_VARIANT(get_provider, VBACKEND_GET_PROVIDER,
	     struct vbackend_provider_info, prep_provider, NULL);
SIZE_VARIANT(bind, VBACKEND_BIND, struct vbackend_bind, prep_bind,
	     undo_new_session);
SIZE_VARIANT(get_session, VBACKEND_GET_SESSION, struct vbackend_session_info,
	     on_backend, NULL);
OBJECT_VARIANTS(window, obj_window);
SIZE_VARIANT(mem_region, VBACKEND_MEM_REGION, struct vbackend_mem_region,
	     on_backend, NULL);
OBJECT_VARIANTS(trap, obj_trap);
OBJECT_VARIANTS(kick, obj_kick);
OBJECT_VARIANTS(irq, obj_irq);
SIZE_VARIANT(vmm_create, VBACKEND_VMM_CREATE, struct vbackend_vmm_ctl,
	     prep_vmm_create, undo_new_session);
SIZE_VARIANT(vmm_add_memory, VBACKEND_VMM_ADD_MEMORY,
	     struct vbackend_vmm_memory, prep_add_memory, NULL);
SIZE_VARIANT(vmm_access, VBACKEND_VMM_ACCESS, struct vbackend_vmm_access,
	     prep_access, NULL);
SIZE_VARIANT(vmm_get_kick, VBACKEND_VMM_GET_KICK, struct vbackend_kick,
	     on_vmm, undo_get_kick);
SIZE_VARIANT(vmm_get_irq, VBACKEND_VMM_GET_IRQ, struct vbackend_irq,
	     on_vmm, undo_get_irq);
SIZE_VARIANT(vmm_reset, VBACKEND_VMM_RESET, struct vbackend_vmm_ctl,
	     on_vmm, NULL);
SIZE_VARIANT(vmm_set_kick_fd, VBACKEND_VMM_SET_KICK_FD,
	     struct vbackend_vmm_notifier, prep_set_kick_fd, NULL);
SIZE_VARIANT(vmm_set_irq_fd, VBACKEND_VMM_SET_IRQ_FD,
	     struct vbackend_vmm_notifier, prep_set_irq_fd, NULL);

/* the variant's argument, prepared; the session it goes to */
static int size_prepare(FIXTURE_DATA(size) *self,
			const FIXTURE_VARIANT(size) *variant,
			union size_arg *a)
{
	const struct size_object *o = variant->object;
	union size_arg add;
	int fd;

	memset(a, 0, sizeof(*a));
	a->argsz = variant->v1;
	if (!o)
		return variant->prepare(self, a);
	if (!variant->del)
		return o->fill(self, a);
	memset(&add, 0, sizeof(add));
	add.argsz = o->add_v1;
	fd = o->fill(self, &add);
	if (fd < 0 || ioctl(fd, o->add, &add))
		return -1;
	a->id.id = object_id(o, &add);
	return fd;
}

/* take back what the variant's successful call made */
static void size_undo(FIXTURE_DATA(size) *self,
		      const FIXTURE_VARIANT(size) *variant,
		      union size_arg *a)
{
	const struct size_object *o = variant->object;

	if (o && !variant->del)
		vb_del(self->be, o->del, object_id(o, a));
	else if (!o && variant->undo)
		variant->undo(self, a);
}

/* a structure grown by 8 zero bytes is the v1 call */
TEST_F(size, grown_zero_tail)
{
	union size_arg a;
	int fd = size_prepare(self, variant, &a);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, issue_sized(fd, variant->cmd, &a, variant->v1,
				 variant->v1 + GROW, 0))
		TH_LOG("%s", strerror(errno));
	size_undo(self, variant, &a);
}

/* new fields the kernel does not know, set: E2BIG, and nothing changed */
TEST_F(size, grown_nonzero_tail)
{
	union size_arg a, again;
	int fd = size_prepare(self, variant, &a);

	ASSERT_LE(0, fd);
	again = a;
	ASSERT_EQ(-1, issue_sized(fd, variant->cmd, &a, variant->v1,
				  variant->v1 + GROW, 0xa5));
	EXPECT_EQ(E2BIG, errno);
	ASSERT_EQ(0, issue_sized(fd, variant->cmd, &again, variant->v1,
				 variant->v1, 0))
		TH_LOG("the v1 call after E2BIG: %s", strerror(errno));
	size_undo(self, variant, &again);
}

/* shorter than the first version: EINVAL */
TEST_F(size, short_of_v1)
{
	const size_t sizes[] = { variant->v1 - 1, variant->v1 - GROW, 4 };
	union size_arg a;
	int fd = size_prepare(self, variant, &a);

	ASSERT_LE(0, fd);
	for (size_t i = 0; i < VB_ARRAY_SIZE(sizes); i++) {
		EXPECT_EQ(-1, issue_sized(fd, variant->cmd, &a, variant->v1,
					  sizes[i], 0))
			TH_LOG("argsz %zu accepted", sizes[i]);
		EXPECT_EQ(EINVAL, errno);
	}
}

/* the header's command encodes the v1 size */
TEST_F(size, v1_encoding)
{
	EXPECT_EQ(variant->v1, (size_t)_IOC_SIZE(variant->cmd));
	EXPECT_EQ(VBACKEND_MAGIC, (int)_IOC_TYPE(variant->cmd));
}

/* the VFIO encoding: no size, no direction; argsz alone tells the size */
TEST_F(size, size_bits_ignored)
{
	union size_arg a;
	int fd = size_prepare(self, variant, &a);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, _IO(VBACKEND_MAGIC, _IOC_NR(variant->cmd)), &a))
		TH_LOG("%s", strerror(errno));
	size_undo(self, variant, &a);
}

/* the same number under another type is not ours */
TEST_F(size, other_type_enotty)
{
	union size_arg a;
	int fd = size_prepare(self, variant, &a);

	ASSERT_LE(0, fd);
	ASSERT_EQ(-1, ioctl(fd, _IOC(_IOC_DIR(variant->cmd),
				     VBACKEND_MAGIC + 1,
				     _IOC_NR(variant->cmd),
				     _IOC_SIZE(variant->cmd)), &a));
	EXPECT_EQ(ENOTTY, errno);
}

TEST_HARNESS_MAIN
