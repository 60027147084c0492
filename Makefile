# Pianola: two commands do everything.
#   make run    set up (system libraries, .venv, torch, pianola) and launch the app
#   make test   set up, then lint and run the whole test suite
.PHONY: setup run test bench lint format dataset clean

PY := .venv/bin/python

setup:
	@bash scripts/setup.sh

# Without a display (e.g. over ssh) the window opens on a virtual X server instead.
run: setup
	@if [ -z "$$DISPLAY$$WAYLAND_DISPLAY" ] && command -v xvfb-run >/dev/null; then \
		echo "no display: running under xvfb-run"; \
		xvfb-run -a -s "-screen 0 1600x1000x24" $(PY) main.py $(FILE); \
	else \
		$(PY) main.py $(FILE); \
	fi

test: setup
	$(PY) -m ruff check .
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

bench: setup
	$(PY) -m bench.run $(NAMES)

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: setup
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

# Fuzz the MIDI, project and checkpoint readers for longer than CI does (tests/test_fuzz.py):
# make fuzz FUZZ_SECONDS=1800 FUZZ_SEED=7; failing inputs are written to fuzz-failures/.
.PHONY: fuzz
fuzz: setup
	$(PY) scripts/fuzz.py --seconds $(or $(FUZZ_SECONDS),600) --seed $(or $(FUZZ_SEED),0) \
		--save-failures fuzz-failures

# Rebuild the bundled Bach chorales from the music21 corpus (about 2 minutes).
dataset: setup
	$(PY) scripts/build_bach_dataset.py

clean:
	rm -rf .pytest_cache .ruff_cache .hypothesis build dist *.egg-info

# Installers (packaging/README.md): the PyInstaller bundle in dist/pianola and, on Linux,
# dist/pianola-<version>-linux-<arch>.tar.gz. The build uses its own env, .venv-build.
.PHONY: package package-smoke
package: setup
	bash packaging/build.sh
	@if [ "$$(uname -s)" = Linux ]; then bash packaging/make_tarball.sh --no-build; fi

# Build (or reuse) the bundle, then run it frozen and offscreen: self-check, CLI generate
# and train, and on Linux the tarball's install/uninstall.
package-smoke: setup
	bash packaging/smoke_test.sh $$([ "$$(uname -s)" = Linux ] && echo --tarball)
