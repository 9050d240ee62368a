#!/usr/bin/env bash
# Compares the public API of each published module's compiled classes (target/classes, so build first) with the
# dump committed in <module>/api/<module>.api. Any difference fails: a removed or changed line is a breaking change
# (CHANGELOG.md, "Versions"), an added line a new feature. To accept a deliberate change, run
#   release-check/api-check.sh --update
# and commit the updated .api files with the change.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tool="$root/release-check/api-dump"
out="$root/target/api-check"
mkdir -p "$out"
update=false
[ "${1:-}" = --update ] && update=true

# The dumper's classpath (binary-compatibility-validator, kotlin-metadata-jvm, ASM), resolved once per run.
(cd "$tool" && mvn -B -q dependency:build-classpath -Dmdep.outputFile="$out/classpath.txt" >/dev/null)
classpath="$(cat "$out/classpath.txt")"

modules=(voice-core voice-kord voice-java-api voice-testkit voice-kafka voice-jda voice-transcribe)
specs=()
for module in "${modules[@]}"; do
  classes="$root/$module/target/classes"
  [ -d "$classes" ] || { echo "api-check: $classes is missing: build $module first" >&2; exit 2; }
  specs+=("$module=$classes")
done
# voice-java-api's Kotlin glue lives in an internal package (Kotlin-internal too, but say so for clarity).
java -cp "$classpath" "$tool/ApiDump.java" "$out" dev.earshot.voice.javaapi.internal "${specs[@]}"

status=0
for module in "${modules[@]}"; do
  committed="$root/$module/api/$module.api"
  if $update; then
    mkdir -p "$(dirname "$committed")"
    cp "$out/$module.api" "$committed"
    echo "api-check: wrote $module/api/$module.api ($(grep -c '^public\|^protected' "$committed" || true) classes)"
  elif ! diff -u "$committed" "$out/$module.api" > "$out/$module.diff"; then
    cat "$out/$module.diff"
    echo "api-check: FAIL: the public API of $module differs from $module/api/$module.api (diff above: - committed," >&2
    echo "  + compiled). If the change is deliberate, run release-check/api-check.sh --update and commit the .api" >&2
    echo "  file; removed or changed lines are breaking changes (CHANGELOG.md, Versions)." >&2
    status=1
  else
    echo "api-check: $module matches $module/api/$module.api"
  fi
done
exit $status
