# The two commands of the README: `make paper` builds the manuscript, `make test`
# runs the test suite. Both create (or reuse) the local virtual environment .venv
# with the exact versions pinned in envs/requirements.lock.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CORES  ?= 2
SNAKEMAKE := $(BIN)/snakemake --cores $(CORES)
# `make paper` recovers from an interrupted build by itself: jobs a killed build left
# incomplete are rerun, a killed build's lock is released (paperkit/preflight.py), and
# Snakemake dies with make (setpriv --pdeathsig), its rule scripts with Snakemake
# (paperkit/rules.py), so nothing of a killed build writes anything afterwards.
DIE_WITH_MAKE := $(shell command -v setpriv >/dev/null 2>&1 && echo setpriv --pdeathsig KILL)
# The greedy scheduler (it honours the rules' priorities): Snakemake's default solves an
# integer program in a solver subprocess every scheduling round, which on a few local cores
# buys nothing and cost about a second of a cold build in our runs.
BUILD_ARGS := --cores $(CORES) --rerun-incomplete --scheduler greedy
# Snakemake as `make paper` runs it: in a fork of a worker that loaded Snakemake once
# (paperkit/warm.py; about a second and a half of every build), or Snakemake itself with
# WARM= (below). The launcher stands for the build: it dies with make, and Snakemake with it.
SNAKEMAKE_RUN := $(BIN)/python -m paperkit.warm snakemake
BUILD := $(DIE_WITH_MAKE) $(SNAKEMAKE_RUN) $(BUILD_ARGS)
# A no-op `make paper` does not start Snakemake: paperkit/uptodate.py compares every file of
# the project with the stamp the last finished build left (same command, environment and
# packages); on any difference, or without a stamp, Snakemake runs and decides as always
# (`exec`: Snakemake replaces the recipe's shell, so it still dies with make).
UNCHANGED = $(BIN)/python -m paperkit.uptodate --ignore $(REPORT) -- $(BUILD_ARGS)
REPORT := build/paper/_manuscript/report.html
# The SLURM route (profiles/slurm/README.md): .venv plus the SLURM executor plugin.
SLURM_VENV  := .venv-slurm
SLURM_STAMP := $(SLURM_VENV)/.installed

# The libraries the rule scripts import, loaded once by a warm worker whose forks run the
# jobs of `make paper`, `make preview` and `make diff` (paperkit/warm.py); WARM= runs each
# job in a new interpreter, as on a cluster.
WARM ?= numpy pandas pyarrow.parquet scipy.linalg scipy.optimize scipy.sparse scipy.special \
        scipy.stats matplotlib matplotlib.pyplot seaborn pandera.pandas yaml jsonschema nbformat \
        nbclient snakemake.logging snakemake.iocontainers snakemake.script
paper preview diff: export PAPERKIT_WARM = $(WARM)

.PHONY: paper preview report archive test test-fast lint dag register-data bench lock clean \
        check-interviews cluster-env diff warm-modules build-command

paper: $(STAMP)
	@bash scripts/install_system_deps.sh paper
	@$(UNCHANGED) || { echo "$(BUILD)"; exec $(BUILD); }
	@$(MAKE) --no-print-directory --silent $(REPORT)
	@echo "Paper: build/paper/_manuscript/index.{html,pdf,docx,xml}; run report: $(REPORT)"

# Live preview without Quarto: HTML only, re-rendered on every save, served on
# http://127.0.0.1:4848/ with automatic reload (paperkit/preview.py). With Quarto,
# `quarto preview paper` works as well (paper/_prerender.py runs the pipeline first).
PREVIEW_PORT ?= 4848
preview: $(STAMP)
	$(SNAKEMAKE_RUN) $(BUILD_ARGS) paper_inputs
	$(BIN)/python -m paperkit.preview --source paper --stage build/paper --port $(PREVIEW_PORT) \
	  --generated _variables.yml _traces.json notebooks --pipeline-target paper_inputs \
	  --pipeline-watch data config analysis paperkit notebooks scripts Snakefile

# Revise and resubmit: build/diff/index-changes.{pdf,docx} (changes highlighted),
# numbers.csv (every number that moved, with its causes) and changes.html, against the
# paper of a git revision built in build/diff-base/<commit>/ (paperkit/diff.py).
diff: $(STAMP)
	@bash scripts/install_system_deps.sh paper
	$(DIE_WITH_MAKE) $(BIN)/python -m paperkit.diff --base "$(BASE)" --target paper_inputs \
	  --cores $(CORES) --engine $$($(BIN)/python -c 'from analysis.project import load_config; \
	  print(load_config()["paper"]["engine"])' 2>/dev/null || echo auto)

# The Snakemake report of the run (figures annotated with their rules), next to the paper;
# remade only when the paper was.
$(REPORT): build/paper/_manuscript/index.html
	$(SNAKEMAKE_RUN) --cores $(CORES) --report $(REPORT)

report: $(STAMP)
	$(SNAKEMAKE) --report $(REPORT)

# The replication package dist/scs-paper-replication-<version>.zip (analysis/paper/archive.py, paperkit/archive.py):
# code, de-identified data, the paper as built, report, README, RO-Crate, checksums.
# It holds what git tracks at HEAD: uncommitted changes to tracked files stop it before the
# build starts; untracked files never travel. The leak gate runs last (paperkit/leakgate.py).
archive: $(STAMP)
	@$(BIN)/python -m analysis archive --check-committed
	@$(MAKE) --no-print-directory paper
	$(BIN)/python -m analysis archive

test: $(STAMP)
	@bash scripts/install_system_deps.sh test
	$(BIN)/pytest -n $(CORES) --dist loadgroup

# The unit tests of the kit and the study (tests/paperkit, tests/analysis), without the
# whole-workflow builds: for the edit-test loop. `make test` runs everything.
test-fast: $(STAMP)
	$(BIN)/pytest -n $(CORES) -m "not build and not slow" tests/paperkit tests/analysis

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/snakemake --lint

dag: $(STAMP)
	$(BIN)/snakemake --rulegraph > build/rulegraph.dot

# What the build finds in the coded interviews (sources, cases, coders, codes mapped and
# unmapped, position convention), before any build: docs/INTERVIEWS.md.
check-interviews: $(STAMP)
	$(BIN)/python -m analysis check-interviews

# Authors who hold the real data replace the files under data/raw/ and record them.
register-data: $(STAMP)
	$(BIN)/python -m analysis register-data

bench: $(STAMP)
	$(BIN)/python -m bench

$(STAMP): envs/requirements.lock
	@echo "Setting up $(VENV) from envs/requirements.lock ..."
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r envs/requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --editable .
	@# The SLURM executor lives in $(SLURM_VENV) only: installed here, it would probe the
	@# cluster (scontrol) at every Snakemake start. Remove it where an older lock put it.
	$(BIN)/python -m pip uninstall --quiet --yes snakemake-executor-plugin-slurm \
	  snakemake-executor-plugin-slurm-jobstep 2>/dev/null
	@touch $(STAMP)

# $(SLURM_VENV): a venv that sees every package of .venv (a .pth file adds its
# site-packages) and adds Snakemake's SLURM executor from envs/requirements-slurm.lock.
# Only `$(SLURM_VENV)/bin/snakemake --profile profiles/slurm` loads the plugin.
cluster-env: $(SLURM_STAMP)

$(SLURM_STAMP): envs/requirements-slurm.lock $(STAMP)
	rm -rf $(SLURM_VENV)
	$(BIN)/python -m venv $(SLURM_VENV)
	$(BIN)/python -c 'import sysconfig; print("import site; site.addsitedir(%r)" \
	  % sysconfig.get_paths()["purelib"])' > "$$($(SLURM_VENV)/bin/python -c \
	  'import sysconfig; print(sysconfig.get_paths()["purelib"])')/_project_venv.pth"
	$(SLURM_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps \
	  --ignore-installed -r envs/requirements-slurm.lock
	$(SLURM_VENV)/bin/python -m pip check --disable-pip-version-check
	@touch $(SLURM_STAMP)

lock: $(STAMP)
	$(BIN)/python -m pip install --quiet -r envs/requirements.in
	{ echo "# Exact versions of every Python package of the build (Python 3.11, Linux x86_64)."; \
	  echo "# Generated by 'make lock' from envs/requirements.in; do not edit by hand."; \
	  $(BIN)/python -m pip freeze --exclude-editable | sort -f; } > envs/requirements.lock

clean:
	-@test ! -x $(BIN)/python || $(BIN)/python -m paperkit.warm stop .
	rm -rf results build figures/*/ logs .snakemake/log .snakemake/slurm_logs dist

# The modules the warm worker preloads and the command `make paper` builds with
# (bench/bench_build.py runs Snakemake as make does).
warm-modules:
	@echo $(WARM)

build-command:
	@echo $(SNAKEMAKE_RUN) $(BUILD_ARGS)
