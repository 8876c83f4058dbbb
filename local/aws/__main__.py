import sys

from local.aws.clients import main

sys.exit(main())
