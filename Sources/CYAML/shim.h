// The system libyaml (Debian's libyaml-dev, `pkg-config yaml-0.1`), which FlowSpec reads events from.
#include <yaml.h>
