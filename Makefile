# Two commands do everything on a fresh machine:
#   make run    install, compile translations, train the model if its data changed, start the bot
#   make test   the same set-up, then every check and test
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV   := .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin
export PYTHONPATH := $(CURDIR)
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
# Rasa's dependencies print pages of deprecation warnings at import.
export PYTHONWARNINGS := ignore

# Rasa's intent model reads these languages (bot.core.languages.UNDERSTOOD); the intent net reads
# every language's examples (bot/core/intent_net.py) and serves the others.
RASA_LANGUAGES := en nl ar fa uk es
# Rasa's model learns nlu/<lang>/nlu.yml. The examples of the topics behind "More topics"
# (more_topics.yml beside it) teach the topic net alone, which reads those topics in every language
# and hands Rasa its reading (bot/core/intent_net.py, bot/rasa_plugins/intent_hint.py).
RASA_NLU      := $(addsuffix /nlu.yml,$(addprefix nlu/,$(RASA_LANGUAGES)))
TRAINING_DATA := config.yml $(wildcard domain/*.yml) $(RASA_NLU) $(wildcard dialogue/*.yml)
PO_FILES      := $(wildcard locales/*/LC_MESSAGES/messages.po)
MO_FILES      := $(PO_FILES:.po=.mo)
MODEL         := models/current.tar.gz
SAFETY_NET    := models/safety-net.npz
SAFETY_DATA   := $(wildcard content/safety/*.yml) $(wildcard content/safety/examples/*.yml) $(wildcard nlu/*/*.yml)
INTENT_NET    := models/intent-net.npz

.PHONY: help install catalogs model safety-net intent-net validate run test test-fast lint lock extract bench clean servers

help:
	@echo "make run     start the bot (terminal chat when TELEGRAM_BOT_TOKEN is not set)"
	@echo "make test    run every check and test"
	@echo "make test-fast  the fast tier while working: no Rasa, no bot process (under 30 s)"
	@echo "make extract update locales/messages.pot and every language's .po from the sources"
	@echo "make bench   measure the safety screen, start-up time and reply latency (see bench/)"

$(VENV)/.installed: requirements.lock
	@py=$$(scripts/find-python) || exit 1; \
	  echo "Creating $(VENV) with $$py"; \
	  "$$py" -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade 'pip==24.0'
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	touch $@

install: $(VENV)/.installed

%.mo: %.po $(VENV)/.installed
	$(BIN)/pybabel compile --statistics -i $< -o $@

catalogs: $(MO_FILES)

$(MODEL): $(TRAINING_DATA) $(VENV)/.installed
	$(BIN)/rasa train --data $(RASA_NLU) dialogue --domain domain --config config.yml \
	  --out models --fixed-model-name current --quiet

model: $(MODEL)

# The safety screen's model net: retrained when its examples or the lexicons change (about a
# minute; embeddings of unchanged examples are cached in models/).
$(SAFETY_NET): $(SAFETY_DATA) $(VENV)/.installed
	$(PY) -m bot safety-train

safety-net: $(SAFETY_NET)

# The intent net for the languages Rasa's intent model does not read; after the model net, whose
# embeddings of the NLU examples it reuses (a few seconds).
$(INTENT_NET): $(wildcard nlu/*/*.yml) $(SAFETY_NET) $(VENV)/.installed
	$(PY) -m bot intent-train

intent-net: $(INTENT_NET)

validate: install
	$(BIN)/rasa data validate --data $(RASA_NLU) dialogue --domain domain --config config.yml --fail-on-warnings --quiet

run: install catalogs model safety-net intent-net
	$(PY) -m bot run

lint: install
	$(BIN)/ruff check bot actions tests bench migrations
	$(BIN)/ruff format --check bot actions tests bench migrations
	$(BIN)/lint-imports --no-cache

# The tests start throwaway PostgreSQL, Redis and nginx servers; this installs them if missing.
servers:
	scripts/ensure-servers

# Three tiers (tests/README.md): fast (no Rasa, no bot process), end_to_end (the stand-in, real
# Rasa, both databases) and measurements (held-out sets against their floors).
test: install catalogs validate model safety-net intent-net lint servers
	$(PY) -m bot content check
	REQUIRE_POSTGRES=1 $(BIN)/pytest

test-fast: install catalogs safety-net intent-net
	$(BIN)/pytest tests/fast

extract: install
	$(BIN)/pybabel extract --mapping-file babel.cfg --output-file locales/messages.pot \
	  --no-location --sort-output --project rasa-peer-support --add-comments TRANSLATORS: .
	$(BIN)/pybabel update --input-file locales/messages.pot --output-dir locales --domain messages \
	  --no-fuzzy-matching --ignore-obsolete

bench: install catalogs model safety-net intent-net servers
	$(PY) -m bench.safety_speed
	$(PY) -m bench.language_id
	$(PY) -m bench.topic_screen
	$(PY) -m bench.latency
	$(PY) -m bench.telegram_latency
	$(PY) -m bench.crisis_latency
	$(PY) -m bench.slow_database
	$(PY) -m bench.flood
	$(PY) -m bench.replicas
	$(PY) -m bench.report

lock:
	$(PY) -m pip freeze --exclude-editable > requirements.lock

clean:
	rm -rf $(VENV) models .rasa results $(MO_FILES)
