package validate

import _ "github.com/schemagate/schemagate/governance"
