#!/usr/bin/env bash
# Builds a stand-in for node:24-bookworm-slim, for the container test: no image registry is reachable on
# the build machines, so `FROM node:24-...` cannot be pulled. The stand-in holds just what the Dockerfile
# needs: the Node binary given as $1 (CI: $REINGEST_NODE24) with its shared libraries, the host's npm (a
# JavaScript tree that runs on Node 24), /bin/sh and the few coreutils the RUN steps call, /usr/bin/env
# (for the `#!/usr/bin/env node` shebangs), the host's CA bundle (the npm registry is reached through a
# TLS-intercepting proxy here) and a root user.
#
#   .ci/podman-base.sh NODE_BINARY [IMAGE]     (IMAGE defaults to localhost/reingest-nodebase)
#
# Idempotent: an existing image built from the same Node version and the same npm is kept (its labels say
# which). Prints the image name on the last stdout line.
set -euo pipefail
node_bin=${1:?usage: podman-base.sh NODE_BINARY [IMAGE]}
image=${2:-localhost/reingest-nodebase}
[ -x "$node_bin" ] || { echo "podman-base.sh: expected an executable Node binary, found nothing at $node_bin" >&2; exit 2; }

node_version=$("$node_bin" --version)
npm_dir=$(npm root -g)/npm
npm_version=$(node -p "require('$npm_dir/package.json').version")
# npm must run on the base's Node, not only the host's: check now rather than in the middle of a build.
"$node_bin" "$npm_dir/bin/npm-cli.js" --version >/dev/null ||
  { echo "podman-base.sh: the host's npm $npm_version (at $npm_dir) does not run on Node $node_version" >&2; exit 2; }

if podman image exists "$image"; then
  have=$(podman image inspect --format '{{index .Labels "reingest.node"}} {{index .Labels "reingest.npm"}}' "$image")
  if [ "$have" = "$node_version $npm_version" ]; then
    echo "$image (kept: node $node_version, npm $npm_version)"
    exit 0
  fi
  podman rmi -f "$image" >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
# Debian bookworm is merged-/usr: /bin, /lib and /lib64 are links into /usr, and ldd reports /lib paths.
mkdir -p "$root"/usr/{bin,lib,lib64,local/bin,local/lib/node_modules} "$root"/{etc/ssl/certs,root,tmp,dev,proc}
ln -s usr/bin "$root/bin"
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"
chmod 1777 "$root/tmp"
chmod 700 "$root/root"

# Copies a binary and every shared library ldd names (the dynamic loader included) to the same paths.
add_binary() {
  local src=$1 dest=$2 lib
  install -m 755 "$src" "$root$dest"
  for lib in $(ldd "$src" | grep -oE '/[^ ]+\.so[^ ]*'); do
    [ -e "$root$lib" ] && continue
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
}
add_binary "$node_bin" /usr/local/bin/node
# /bin/sh for RUN steps and npm's lifecycle scripts (esbuild's postinstall); the rest is what the
# Dockerfile's RUN lines call. /usr/bin/env resolves the `#!/usr/bin/env node` of npm and reingest.
add_binary "$(readlink -f /bin/sh)" /usr/bin/sh
for tool in env mkdir chown chmod ln rm cat ls; do
  add_binary "$(command -v "$tool")" "/usr/bin/$tool"
done

cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"

cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' > "$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"

# Sorted, owner-neutral and dated entries keep the tarball the same for the same inputs.
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$root" -cf "$work/rootfs.tar" .
podman import \
  --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "LABEL reingest.node=$node_version" \
  --change "LABEL reingest.npm=$npm_version" \
  --change 'CMD ["node"]' \
  --quiet "$work/rootfs.tar" "$image" >/dev/null
echo "$image (built: node $node_version, npm $npm_version)"
