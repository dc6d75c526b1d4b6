#!/usr/bin/env bash
# What the end-to-end tests drive the app with; sourced by test.sh and package.sh after
# setup.sh. Idempotent: cargo install and pip do nothing when already satisfied.
# tauri-driver bridges WebDriver to the app's WebKitWebDriver.
if ! command -v tauri-driver >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/tauri-driver" ]; then
  cargo install tauri-driver --locked --version 2.1.0
fi
export PATH="$HOME/.cargo/bin:$PATH"
# The tests' Python packages (selenium and pytest for e2e; aiosmtpd, the real SMTP server
# the notice-delivery tests send to), in a venv of their own.
VENV="$ROOT/target/e2e-venv"
[ -x "$VENV/bin/pip" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q -r "$ROOT/tests/e2e/requirements.txt"
