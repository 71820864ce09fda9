# lkvm: a lightweight KVM virtual machine monitor.
#
#   make                 build ./lkvm
#   make lkvm-static     a static ./lkvm-static (for the nested test's L1 initramfs)
#   make check           run every test tier (see tests/run)
#   make demo            install dependencies and boot a Debian kernel
#   make lkvm-asan       ./lkvm-asan, built with AddressSanitizer and UBSan

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
ARCH_OBJS := x86/kvm.o x86/cpu.o x86/cpuid.o x86/boot.o x86/bzimage.o \
	     x86/acpi.o x86/aml.o x86/power.o x86/irq.o hw/rtc.o
else
$(error ARCH=$(ARCH) is not supported yet)
endif

SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
	     -fno-omit-frame-pointer

# Build dependencies: glibc, libfdt, libaio, zlib (Debian: libfdt-dev libaio-dev zlib1g-dev).
DEPS := libfdt:libfdt-dev libaio:libaio-dev zlib:zlib1g-dev
define check_dep
$(if $(shell $(PKG_CONFIG) --exists $(1) 2>/dev/null && echo y || \
	(test -e /usr/include/$(if $(filter libaio,$(1)),libaio.h,$(if $(filter zlib,$(1)),zlib.h,libfdt.h)) && echo y)),,\
	$(error missing $(1): install the Debian package $(2) (apt-get install $(2))))
endef
ifeq ($(filter clean,$(MAKECMDGOALS)),)
$(foreach d,$(DEPS),$(call check_dep,$(word 1,$(subst :, ,$(d))),$(word 2,$(subst :, ,$(d)))))
endif
LDLIBS += -lfdt -laio -lz

CORE_OBJS := kvm.o kvm-cpu.o iobus.o guest-mem.o irq.o ioeventfd.o \
	     virtio/core.o virtio/virtqueue.o \
	     util/util.o util/parse-options.o util/init.o util/load.o util/term.o \
	     hw/serial.o
OBJS := main.o builtin-run.o $(CORE_OBJS) $(ARCH_OBJS)
DEPFILES := $(OBJS:.o=.d)

all: lkvm

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
	$(CC) $(CFLAGS) -MMD -c -o $@ $<

-include $(DEPFILES) $(STATIC_OBJS:.o=.d) $(ASAN_OBJS:.o=.d)

# Unit tests: host-only, always under the sanitizers, linked against the
# pure parts of lkvm.
UNIT_TESTS := $(patsubst %.c,%,$(wildcard tests/unit/test-*.c))
UNIT_LIB_OBJS := $(addprefix .asan/,iobus.o guest-mem.o util/util.o \
		 util/parse-options.o x86/bzimage.o x86/aml.o virtio/virtqueue.o)
tests/unit/%: tests/unit/%.c tests/unit/test.h $(UNIT_LIB_OBJS)
	$(CC) $(CFLAGS) $(SAN_FLAGS) -Itests/unit $(LDFLAGS) -o $@ $< \
		$(UNIT_LIB_OBJS) $(LDLIBS)

unit-tests: $(UNIT_TESTS)

check:
	tests/run

demo:
	scripts/demo.sh

clean:
	rm -rf lkvm lkvm-static lkvm-asan .static .asan $(OBJS) $(DEPFILES) $(UNIT_TESTS) \
	       tests/unit/*.d
	$(MAKE) -C tests/guest clean 2>/dev/null || true

.PHONY: all clean check demo unit-tests
