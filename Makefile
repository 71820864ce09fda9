# lkvm: a lightweight KVM virtual machine monitor.
#
#   make                 build ./lkvm
#   make lkvm-static     a static ./lkvm-static (for the nested test's L1 initramfs)
#   make check           run every test tier (see tests/run)
#   make demo            install dependencies and boot a Debian kernel
#   make install         lkvm, its manual pages, bash completion, systemd unit
#                        template and documentation under $(DESTDIR)$(PREFIX)
#                        (PREFIX=/usr/local); make uninstall removes them
#   make lkvm-asan       ./lkvm-asan, built with AddressSanitizer and UBSan
#   make ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-
#                        a static ./lkvm-arm64 (libraries: scripts/arm64-sysroot.sh)

ARCH ?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
CROSS_COMPILE ?=
CC := $(CROSS_COMPILE)gcc
PKG_CONFIG ?= pkg-config

CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Wno-missing-field-initializers \
	  -Wno-sign-compare -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	  -fno-strict-aliasing -D_GNU_SOURCE -pthread \
	  -Iinclude -I$(ARCH_DIR)/include
LDLIBS := -pthread

ifeq ($(ARCH),x86)
ARCH_DIR := x86
ARCH_OBJS := x86/kvm.o x86/cpu.o x86/cpuid.o x86/boot.o x86/bzimage.o x86/elf.o x86/pvh.o \
	     x86/acpi.o x86/aml.o x86/power.o x86/irq.o x86/virtio-mmio.o \
	     x86/pci-acpi.o hw/rtc.o
else ifeq ($(ARCH),arm64)
ifeq ($(CROSS_COMPILE)$(filter aarch64,$(shell uname -m)),)
$(error ARCH=arm64 on this host needs CROSS_COMPILE=aarch64-linux-gnu-)
endif
ARCH_DIR := arm
ARCH_OBJS := arm/kvm.o arm/cpu.o arm/irq.o arm/vm.o arm/spe.o arm/sys.o \
	     arm/image.o arm/fdt.o arm/boot.o arm/pci.o arm/rtc.o arm/pl031.o
else
$(error ARCH=$(ARCH) is not supported yet)
endif

# A cross build stays apart from a native one in the same tree (objects in
# .cross-$(ARCH)/, binary lkvm-$(ARCH)) and links statically, so the result
# runs in a bare initramfs. arm64's libraries come from Debian's arm64
# packages, unpacked outside git by scripts/arm64-sysroot.sh.
ifneq ($(CROSS_COMPILE),)
LKVM_BIN := lkvm-$(ARCH)
ifeq ($(ARCH),arm64)
ifeq ($(filter clean,$(MAKECMDGOALS)),)
ARM64_SYSROOT ?= $(shell scripts/arm64-sysroot.sh)
$(if $(ARM64_SYSROOT),,$(error scripts/arm64-sysroot.sh failed: no arm64 libfdt/libaio/zlib))
CFLAGS += -isystem $(ARM64_SYSROOT)/usr/include
LDFLAGS += -L$(ARM64_SYSROOT)/usr/lib/aarch64-linux-gnu
endif
endif
else
LKVM_BIN := lkvm
endif

SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
	     -fno-omit-frame-pointer

# Build dependencies: glibc, libfdt, libaio, zlib, libseccomp
# (Debian: libfdt-dev libaio-dev zlib1g-dev libseccomp-dev).
DEPS := libfdt:libfdt-dev libaio:libaio-dev zlib:zlib1g-dev libseccomp:libseccomp-dev
dep_header = $(if $(filter libaio,$(1)),libaio.h,$(if $(filter zlib,$(1)),zlib.h,$(if \
	     $(filter libseccomp,$(1)),seccomp.h,libfdt.h)))
define check_dep
$(if $(shell $(PKG_CONFIG) --exists $(1) 2>/dev/null && echo y || \
	(test -e /usr/include/$(call dep_header,$(1)) && echo y)),,\
	$(error missing $(1): install the Debian package $(2) (apt-get install $(2))))
endef
# Only goals that compile need them: `make demo` and `make check` install them
# first (scripts/install-deps.sh), so the check must not stop those.
NO_DEPS_GOALS := clean demo check
ifeq ($(CROSS_COMPILE),)
ifneq ($(if $(MAKECMDGOALS),$(filter-out $(NO_DEPS_GOALS),$(MAKECMDGOALS)),all),)
$(foreach d,$(DEPS),$(call check_dep,$(word 1,$(subst :, ,$(d))),$(word 2,$(subst :, ,$(d)))))
endif
endif
LDLIBS += -lfdt -laio -lz -lseccomp

CORE_OBJS := hw/pvpanic.o kvm.o kvm-cpu.o iobus.o guest-mem.o irq.o ioeventfd.o \
	     virtio/core.o virtio/virtqueue.o virtio/mmio.o virtio/pci.o hw/pci.o \
	     virtio/transport.o hw/pci-root.o \
	     virtio/blk.o virtio/rng.o virtio/console.o disk/raw.o \
	     disk/qcow2.o disk/qcow2-open.o disk/qcow2-meta.o disk/io-thread.o \
	     util/util.o util/iov.o util/parse-options.o util/init.o util/load.o util/term.o \
	     hw/serial.o
# seccomp filters per thread class
CORE_OBJS += seccomp.o privs.o
# virtio-balloon and the control channel of running VMs (lkvm list/stop/...)
CORE_OBJS += virtio/balloon.o mem-discard.o pause.o control.o util/ctl-proto.o util/json.o
# The 9P2000.L server (one concept per file, see fs/9p-internal.h)
P9_OBJS := $(addprefix fs/,9p-server.o 9p-qid.o 9p-fid.o 9p-path.o 9p-attr.o 9p-file.o \
	   9p-dir.o 9p-lock.o 9p-xattr.o beneath.o)
# virtio-9p and its server, virtio-net on tap or passt, --console-log
CORE_OBJS += virtio/9p.o $(P9_OBJS) net/options.o util/console-log.o \
	     virtio/net.o net/tap.o net/passt.o net/backend.o
# vhost: vhost-net for taps, virtio-vsock on vhost-vsock
CORE_OBJS += virtio/vhost.o virtio/vhost-sys.o virtio/vhost-net.o virtio/vsock.o
# vhost-user front end; virtio-fs through it, and starting virtiofsd
CORE_OBJS += virtio/vhost-user.o virtio/fs.o virtio/virtiofsd.o
# lkvm sandbox: initramfs writer, module order, exit register, embedded init
CORE_OBJS += sandbox/cpio.o sandbox/modules.o sandbox/scratch.o sandbox/init-blob.o \
	     hw/sandbox-exit.o
OBJS := main.o builtin-run.o builtin-ctl.o kvmtool-compat.o $(CORE_OBJS) $(ARCH_OBJS)
OBJS += builtin-sandbox.o
DEPFILES := $(OBJS:.o=.d)

all: $(LKVM_BIN)

lkvm: $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Variant builds use their own object directories so flags never mix.
STATIC_OBJS := $(addprefix .static/,$(OBJS))
lkvm-static: $(STATIC_OBJS)
	$(CC) -static $(LDFLAGS) -o $@ $^ $(LDLIBS)
.static/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -c -o $@ $<

ASAN_OBJS := $(addprefix .asan/,$(OBJS))
lkvm-asan: $(ASAN_OBJS)
	$(CC) $(SAN_FLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)
.asan/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN_FLAGS) -MMD -c -o $@ $<

%.o: %.c
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -c -o $@ $<

CROSS_OBJS := $(addprefix .cross-$(ARCH)/,$(OBJS))
lkvm-$(ARCH): $(CROSS_OBJS)
	$(CC) -static $(LDFLAGS) -o $@ $^ $(LDLIBS)
.cross-$(ARCH)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -c -o $@ $<

-include $(DEPFILES) $(STATIC_OBJS:.o=.d) $(ASAN_OBJS:.o=.d) $(CROSS_OBJS:.o=.d)

# lkvm sandbox's guest init: a static program for the guest's architecture
# (the same as lkvm's), embedded in every lkvm variant by sandbox/init-blob.S.
# Named after the architecture: native and cross builds share the tree.
SANDBOX_INIT := sandbox/init-$(ARCH).bin
$(SANDBOX_INIT): sandbox/init.c include/lkvm/sandbox.h
	$(CC) $(CFLAGS) -static -Os -s -o $@ $<
sandbox/init-blob.o .static/sandbox/init-blob.o .asan/sandbox/init-blob.o \
.cross-$(ARCH)/sandbox/init-blob.o: $(SANDBOX_INIT)
%.o: %.S
	$(CC) -DSANDBOX_INIT_BIN='"$(SANDBOX_INIT)"' -c -o $@ $<
# One pattern rule per directory: a pattern rule with several targets would
# tell make that one run builds them all (a race under make -j).
define variant_S_rule
$(1)/%.o: %.S
	@mkdir -p $$(dir $$@)
	$$(CC) -DSANDBOX_INIT_BIN='"$$(SANDBOX_INIT)"' -c -o $$@ $$<
endef
$(foreach d,.static .asan .cross-$(ARCH),$(eval $(call variant_S_rule,$(d))))

# Unit tests: host-only, always under the sanitizers, linked against the
# pure parts of lkvm.
UNIT_TESTS := $(patsubst %.c,%,$(wildcard tests/unit/test-*.c))
UNIT_LIB_OBJS := $(addprefix .asan/,iobus.o guest-mem.o util/util.o util/iov.o \
		 util/parse-options.o x86/bzimage.o x86/elf.o x86/aml.o x86/cpuid.o virtio/virtqueue.o \
		 virtio/core.o virtio/blk.o virtio/rng.o disk/raw.o util/init.o \
		 disk/qcow2.o disk/qcow2-open.o disk/qcow2-meta.o disk/io-thread.o \
		 hw/pci.o seccomp.o)
tests/unit/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(UNIT_LIB_OBJS)
	$(CC) $(CFLAGS) $(SAN_FLAGS) -Itests/unit $(LDFLAGS) -o $@ $< \
		$(filter %.o,$^) $(LDLIBS)
# A test that needs more of lkvm lists it here (and stubs what that needs).
tests/unit/test-pci: .asan/virtio/pci.o .asan/virtio/transport.o
tests/unit/test-mmio: .asan/virtio/mmio.o .asan/virtio/transport.o
tests/unit/test-console: .asan/virtio/console.o
tests/unit/test-balloon: .asan/virtio/balloon.o .asan/mem-discard.o
tests/unit/test-control: .asan/util/ctl-proto.o .asan/util/json.o .asan/builtin-ctl.o
tests/unit/test-control-server: .asan/control.o .asan/util/ctl-proto.o .asan/util/json.o \
				.asan/builtin-ctl.o
tests/unit/test-options: .asan/kvmtool-compat.o
tests/unit/test-util: .asan/net/options.o .asan/net/passt.o
tests/unit/test-pvpanic: .asan/hw/pvpanic.o
tests/unit/test-sandbox-exit: .asan/hw/sandbox-exit.o
tests/unit/test-console-log: .asan/util/term.o .asan/util/console-log.o
tests/unit/test-9p: $(addprefix .asan/,$(P9_OBJS))
tests/unit/test-virtio-net: .asan/virtio/net.o .asan/virtio/9p.o \
			    $(addprefix .asan/,$(P9_OBJS)) .asan/virtio/vhost.o \
			    .asan/virtio/vhost-net.o .asan/virtio/vhost-sys.o
tests/unit/test-net-passt: .asan/net/passt.o
tests/unit/test-vhost: .asan/virtio/net.o .asan/virtio/vhost.o \
		       .asan/virtio/vhost-net.o .asan/virtio/vsock.o
tests/unit/test-sandbox: .asan/sandbox/cpio.o .asan/sandbox/modules.o .asan/sandbox/scratch.o
tests/unit/test-vhost-user: tests/unit/fake-virtio.h .asan/virtio/vhost-user.o \
			    .asan/virtio/fs.o .asan/virtio/virtiofsd.o .asan/mem-discard.o
# arm64's VM logic is host-independent; its tests run on any build host.
.asan/arm/%.o tests/unit/test-arm-%: CFLAGS += -Iarm/include
tests/unit/test-arm-image: .asan/arm/image.o
tests/unit/test-arm-fdt: .asan/arm/fdt.o
tests/unit/test-arm-vm: .asan/arm/vm.o .asan/arm/spe.o
tests/unit/test-arm-pl031: .asan/arm/pl031.o

unit-tests: $(UNIT_TESTS)

# libFuzzer harnesses (clang): fuzz/fuzz-NAME.c, built from lkvm's sources
# with the fuzzer and sanitizers; list what a harness needs like the unit
# tests do. fuzz/run.sh runs each for N executions.
FUZZ_CC ?= clang
FUZZ_TARGETS := $(patsubst %.c,%,$(wildcard fuzz/fuzz-*.c))
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_COMMON := util/util.c util/iov.c
# A harness that #includes a source (to reach its statics) names it in
# FUZZ_INCLUDES_NAME: a prerequisite, not compiled a second time.
fuzz/fuzz-%: fuzz/fuzz-%.c $(FUZZ_COMMON)
	$(FUZZ_CC) $(CFLAGS) $(FUZZ_FLAGS) -o $@ \
		$(filter-out $(FUZZ_INCLUDES_$*),$(filter %.c,$^)) $(LDLIBS)
FUZZ_DISK := disk/qcow2.c disk/qcow2-open.c disk/qcow2-meta.c disk/raw.c disk/qcow2.h \
	     disk/io-thread.c disk/io-thread.h
fuzz/fuzz-qcow2: $(FUZZ_DISK)
fuzz/fuzz-virtqueue: virtio/virtqueue.c guest-mem.c
FUZZ_INCLUDES_blk := virtio/blk.c
fuzz/fuzz-blk: CFLAGS += -Itests/unit
fuzz/fuzz-blk: tests/unit/fake-virtio.h virtio/blk.c virtio/core.c virtio/virtqueue.c guest-mem.c util/init.c seccomp.c \
	       $(FUZZ_DISK)
fuzz/fuzz-9p: $(P9_OBJS:.o=.c) fs/9p-internal.h fs/9p-wire.h
fuzz/fuzz-x86-loaders: x86/bzimage.c x86/elf.c
fuzz/fuzz-arm-image: CFLAGS += -Iarm/include
fuzz/fuzz-arm-image: arm/image.c
fuzz/fuzz-ctl: util/ctl-proto.c util/json.c
fuzz: $(FUZZ_TARGETS)

# bench/qcow2.sh's host-side driver of the disk layer.
bench/qcow2-bench: bench/qcow2-bench.c disk/raw.o disk/qcow2.o disk/qcow2-open.o \
		   disk/qcow2-meta.o disk/io-thread.o util/util.o util/iov.o
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.c %.o,$^) $(LDLIBS)

check:
	tests/run

# Installation. The unit file names the installed binary, so it is written
# at install time. SYSTEMDUNITDIR: where systemd looks (/lib/systemd/system
# for a Debian 12 package, which passes it).
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/lkvm
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
MAN_PAGES := $(wildcard doc/man/*.1)
DOCS := README.md doc/control.md doc/scale.md
EXAMPLES := dist/examples/lkvm.conf dist/examples/github-actions.yml \
	    dist/examples/gitlab-ci.yml dist/examples/lkvm.nomad.hcl
INSTALL ?= install

install: $(LKVM_BIN)
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(SYSTEMDUNITDIR) \
		$(DESTDIR)$(DOCDIR)/examples
	$(INSTALL) -m 755 $(LKVM_BIN) $(DESTDIR)$(BINDIR)/lkvm
	$(INSTALL) -m 644 $(MAN_PAGES) $(DESTDIR)$(MANDIR)/man1/
	$(INSTALL) -m 644 dist/bash-completion/lkvm $(DESTDIR)$(BASHCOMPDIR)/lkvm
	sed 's#@BINDIR@#$(BINDIR)#g' dist/systemd/lkvm@.service.in \
		>$(DESTDIR)$(SYSTEMDUNITDIR)/lkvm@.service
	chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/lkvm@.service
	$(INSTALL) -m 644 $(DOCS) $(DESTDIR)$(DOCDIR)/
	$(INSTALL) -m 644 $(EXAMPLES) $(DESTDIR)$(DOCDIR)/examples/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/lkvm $(DESTDIR)$(BASHCOMPDIR)/lkvm \
	      $(DESTDIR)$(SYSTEMDUNITDIR)/lkvm@.service \
	      $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(MAN_PAGES))) \
	      $(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(DOCS))) \
	      $(addprefix $(DESTDIR)$(DOCDIR)/examples/,$(notdir $(EXAMPLES)))
	-rmdir $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) 2>/dev/null

demo:
	scripts/demo.sh

clean:
	rm -rf lkvm lkvm-static lkvm-asan lkvm-arm64 .static .asan .cross-* $(OBJS) $(DEPFILES) $(UNIT_TESTS) \
	       sandbox/init-*.bin $(FUZZ_TARGETS) bench/qcow2-bench \
	       tests/unit/*.d
	$(MAKE) -C tests/guest clean 2>/dev/null || true

.PHONY: all clean check demo unit-tests install uninstall fuzz
