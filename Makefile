# ib-sriov. Every target runs a `deno task` from deno.json; this file only finds Deno.
#
#   make test    unit + plugin tiers; as root also kernel, e2e and runtime (these run the bundle
#                and the image)
#   make ok      fmt check, lint, type check, unit + plugin tiers
#   make build   build/ib-sriov (deno compile; needs Deno's denort runtime)
#   make bundle  build/ib-sriov.js (deno bundle; for nodes that have Deno)
#   make image   the OCI image localhost/ib-sriov:<version> and build/ib-sriov-image.tar
#                (FROM scratch with podman; its entrypoint is `ib-sriov install`)
#   make demo    ADD, CHECK and DEL on a simulated VF (root)
#   make bench   performance figures against host-device on the simulated VF (root)
#   make clean   remove build/

DENO_VERSION := 2.9.6
LOCAL_DENO := .tools/node_modules/.bin/deno
# `deno` on PATH when there is one, else the pinned copy from the npm registry.
DENO := $(or $(shell command -v deno 2>/dev/null),$(LOCAL_DENO))

.PHONY: test ok build bundle image demo bench clean

# Runs only when $(DENO) is the local copy and it is missing (a fresh clone without Deno).
$(LOCAL_DENO):
	npm install --prefix .tools --no-audit --no-fund --save-exact deno@$(DENO_VERSION)

test: $(DENO)
	$(DENO) task test
	@if [ "$$(id -u)" -eq 0 ]; then \
		$(MAKE) --no-print-directory image && $(DENO) task test:root; \
	else \
		echo "make test: skipped the kernel, e2e and runtime tiers: they create network namespaces, links, mounts and containers, which needs root (run make test as root)."; \
	fi

ok: $(DENO)
	$(DENO) task ok

build: $(DENO)
	$(DENO) task build

bundle: $(DENO)
	$(DENO) task bundle

# The image holds the bundle and the Deno that runs the build: the pinned one.
image: bundle
	$(DENO) task image $(DENO_VERSION)

demo: bundle
	$(DENO) run -A tools/demo.ts

bench: bundle
	$(DENO) task bench

clean:
	rm -rf build
