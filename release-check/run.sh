#!/usr/bin/env bash
# The release check's consumer half (.ci/run runs it after deploying the reactor to target/release-repo):
# builds release-check/java-consumer and release-check/kotlin-kord-consumer, projects outside the reactor, the way a
# user's build would see Earshot, and runs them (each records a scripted member from the embedded voice server).
#
# They get Earshot from target/release-repo only: each build uses a fresh local repository, and everything else
# comes from a read-only view of ~/.m2 without dev/earshot (so nothing installed there by earlier builds can stand in
# for the deployed artifacts), then from Maven Central. The script fails if any Earshot artifact came from elsewhere,
# or if the Kord consumer's dependency tree holds more than one ktor version.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
repo="$root/target/release-repo"
work="$root/target/release-check"
m2="${MAVEN_LOCAL_REPO:-$HOME/.m2/repository}"

[ -d "$repo/dev/earshot" ] || { echo "release-check: no deployed artifacts in $repo (run the deploy first)" >&2; exit 1; }
rm -rf "$work"
mkdir -p "$work/cache-view/dev" "$work/local"

# The view: a symlink per top-level entry of ~/.m2, and per dev/* entry except dev/earshot.
if [ -d "$m2" ]; then
  for entry in "$m2"/*; do
    name="$(basename "$entry")"
    [ "$name" = dev ] || ln -s "$entry" "$work/cache-view/$name"
  done
  for entry in "$m2"/dev/*; do
    [ -e "$entry" ] || continue
    name="$(basename "$entry")"
    [ "$name" = earshot ] || ln -s "$entry" "$work/cache-view/dev/$name"
  done
fi

cat > "$work/settings.xml" <<SETTINGS
<settings>
  <profiles>
    <profile>
      <id>cache-view</id>
      <repositories>
        <repository>
          <id>local-cache-view</id>
          <url>file://$work/cache-view</url>
          <releases><checksumPolicy>ignore</checksumPolicy></releases>
          <snapshots><enabled>false</enabled></snapshots>
        </repository>
      </repositories>
      <pluginRepositories>
        <pluginRepository>
          <id>local-cache-view</id>
          <url>file://$work/cache-view</url>
          <releases><checksumPolicy>ignore</checksumPolicy></releases>
          <snapshots><enabled>false</enabled></snapshots>
        </pluginRepository>
      </pluginRepositories>
    </profile>
  </profiles>
  <activeProfiles><activeProfile>cache-view</activeProfile></activeProfiles>
</settings>
SETTINGS

mvn_consumer() {
  local dir="$1"; shift
  (cd "$root/release-check/$dir" && mvn -B -q -s "$work/settings.xml" -Dmaven.repo.local="$work/local" \
      -Dearshot.repo="file://$repo" "$@")
}

for consumer in java-consumer kotlin-kord-consumer; do
  echo "== release-check: $consumer"
  rm -rf "$root/release-check/$consumer/target"
  mvn_consumer "$consumer" compile exec:exec
  wav="$root/release-check/$consumer/target/recording/mixed.wav"
  [ -s "$wav" ] || { echo "release-check: $consumer made no recording" >&2; exit 1; }
done

echo "== release-check: ktor versions a Kord bot resolves with earshot-bom imported"
mvn_consumer kotlin-kord-consumer dependency:tree -Dincludes=io.ktor -DoutputFile="$work/ktor-tree.txt" >/dev/null
grep -o 'io\.ktor:[^ ]*' "$work/ktor-tree.txt" | sort -u
versions="$(grep -o 'io\.ktor:[^ ]*' "$work/ktor-tree.txt" | awk -F: '{print $4}' | sort -u)"
if [ "$(printf '%s\n' "$versions" | grep -c .)" -ne 1 ]; then
  echo "release-check: FAIL: more than one ktor version: $(echo $versions)" >&2
  exit 1
fi
echo "one ktor version: $versions"

echo "== release-check: where the consumers' Earshot artifacts came from"
found=0
# Maven notes in _remote.repositories which repository each downloaded file came from ("file>repository-id=").
for marker in "$work/local"/dev/earshot/*/*/_remote.repositories; do
  [ -e "$marker" ] || continue
  while IFS= read -r line; do
    case "$line" in \#*|"") continue ;; esac
    file="${line%%>*}"; source="${line#*>}"; source="${source%=}"
    if [ "$source" != earshot-release-check ]; then
      echo "release-check: FAIL: $file came from '${source:-the local repository}', not the deployed repository" >&2
      exit 1
    fi
    found=$((found + 1))
    echo "  $file <- earshot-release-check ($repo)"
  done < "$marker"
done
[ "$found" -gt 0 ] || { echo "release-check: FAIL: no Earshot artifact was resolved" >&2; exit 1; }
echo "release-check: OK"
