package registry

import _ "github.com/schemagate/schemagate/gateway"
