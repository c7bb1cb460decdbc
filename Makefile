# qtfs-rs: every entry point. The scripts under ci/ and tests/ do the work;
# this file only names them. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
MUSL_TARGET := x86_64-unknown-linux-musl
export CC_x86_64_unknown_linux_musl ?= musl-gcc
# Cargo's output lives beside the kernel cache, outside the checkout, so a
# fresh clone (CI) reuses what an earlier run compiled.
export CARGO_TARGET_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/qtfs/cargo-target

.PHONY: help deps kernel modules user lint unit rig-selftest vm-test demo test test-debug fuzz bench bench-fs bench-rexec bench-smoke pjdfstest clean

help:
	@echo "make demo      HOST and DPU guests: load the modules, connect, run commands through rexec"
	@echo "make test      everything: lint, cargo test, every VM scenario, pjdfstest"
	@echo "make deps      install prerequisites (Debian packages, rustup parts, bindgen-cli)"
	@echo "make kernel    build the Rust-enabled test kernel into the cache (~/.cache/qtfs)"
	@echo "make modules   build qtfs.ko and qtfs_server.ko against that kernel"
	@echo "make user      build the userspace binaries, static (musl)"
	@echo "make vm-test [T=name|T=/abs/dir]   run one VM scenario, or all of them"
	@echo "make bench     benchmarks: bench-fs, then bench-rexec"
	@echo "make bench-fs  qtfs beside local tmpfs, NFSv4.2, 9p and raw TCP in the guests (build/bench/)"
	@echo "make test-debug  the fault, hostile-peer and stress scenarios on a KASAN kernel (DEBUG_SCENARIOS=...)"
	@echo "make fuzz      fuzz every protocol decoder (FUZZ_SECONDS per target, default 60)"
	@echo "make pjdfstest POSIX conformance (pjdfstest) in the guests: local tmpfs baseline, then qtfs"

deps:
	ci/deps.sh

kernel: deps
	ci/build-kernel.sh

modules: kernel
	ci/build-modules.sh

user: deps
	cargo build --release --locked --target $(MUSL_TARGET) --workspace --bins

lint:
	cargo fmt --all -- --check
	cargo clippy --locked --workspace --all-targets -- -D warnings

unit:
	@# One test at a time: the rexec tests start real servers and a hundred
	@# processes, and on 2 cores they must not starve each other (about 20 s).
	cargo test --locked --workspace -- --test-threads=1
	@# The modules' pure-Rust parameter validation, as a userspace test binary.
	@mkdir -p build
	rustc --edition 2021 --test qtfs-kmod/kbase/config.rs -o build/kbase-config-test
	build/kbase-config-test
	@# The client's mount-option parsing, likewise.
	rustc --edition 2021 --test qtfs-kmod/client/options.rs -o build/client-options-test
	build/client-options-test
	@# The modules' per-operation counters, likewise.
	rustc --edition 2021 --test qtfs-kmod/kbase/stats.rs -o build/kbase-stats-test
	build/kbase-stats-test

vm-test: modules user
	tests/rig/run-scenarios.sh $(T)

demo: modules user
	tests/rig/run-scenarios.sh demo

rig-selftest: modules user
	tests/rig/selftest.sh

test: deps lint unit rig-selftest vm-test pjdfstest bench-smoke

# Not part of `make test` (README, "The VM rig"): the scenarios below on a
# second kernel, ci/kernel.config plus ci/kernel-debug.config (KASAN),
# cached under its own key, with the modules built into build/modules-debug/
# so that build/modules/ stays the test kernel's. DEBUG_SCENARIOS=stress
# runs one; a name without a scenario directory is an error.
DEBUG_SCENARIOS ?= faults hostile stress
test-debug: deps user
	QTFS_KERNEL_VARIANT=debug ci/build-modules.sh
	QTFS_KERNEL_VARIANT=debug tests/rig/test-debug.sh $(DEBUG_SCENARIOS)

fuzz: deps
	command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
	qtfs-kmod/proto/fuzz/run.sh $(or $(FUZZ_SECONDS),60)

# pjdfstest is built once into the cache (ci/build-pjdfstest.sh) and carried
# into the guests only for this scenario (RIG_EXTRA_BINS).
pjdfstest: modules user
	pjd=$$(ci/build-pjdfstest.sh) && \
	RIG_EXTRA_BINS=$$pjd tests/rig/run-scenarios.sh $(CURDIR)/tests/conformance/pjdfstest

bench: bench-fs bench-rexec

# The file-system benchmark (tests/bench/fs.sh; docs/benchmarks.md):
# BENCH_PROFILE=full (default, about half an hour), issue (the issue's
# sizes: hours) or smoke; every size is a BENCH_<NAME> variable.
bench-fs: modules user
	tests/bench/fs.sh

# Part of `make test`: the benchmark at tiny sizes, one repetition, so that
# the harness cannot rot. It fails if a system is missing, never on a timing.
bench-smoke: modules user
	BENCH_PROFILE=smoke tests/bench/fs.sh

bench-rexec: deps
	tests/bench/rexec_vs_ssh.sh

clean:
	rm -rf build
	find qtfs-kmod \( -name '*.o' -o -name '.*.cmd' -o -name '*.mod*' -o -name '*.rmeta' \) -delete
	rm -f qtfs.ko qtfs_server.ko Module.symvers modules.order .*.cmd *.mod *.mod.c *.o
