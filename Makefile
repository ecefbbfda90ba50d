# Two commands on a fresh machine: `make drills` and `make test`. Both bootstrap .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: drills test native bench bench-full bench-gameday clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

drills: $(STAMP)
	$(BIN)/beamdrill drill run --all --out runs/drills

test: $(STAMP)
	$(BIN)/mypy --strict simulator drills
	$(BIN)/python -m pytest

# Compile the world's hot modules again (simulator/native.py): after an edit they run from source until then.
native: $(STAMP)
	find simulator -name '*.so' -delete
	rm -f ./*__mypyc.*.so
	$(BIN)/pip install --quiet --no-deps -e .

# A few minutes: every case on smaller runs. bench-full runs the sizes the README's figures come from.
bench: $(STAMP)
	$(BIN)/beamdrill bench --quick

bench-full: $(STAMP)
	$(BIN)/beamdrill bench

# The live GameDay under load on loopback: 50 API clients for 30 s at --speed 60 on partner-day.
bench-gameday: $(STAMP)
	$(BIN)/python -m drills.gameday.load

clean:
	rm -rf $(VENV) runs .pytest_cache build simulator/native-build.json ./*__mypyc.*.so
	find simulator -name '*.so' -delete
