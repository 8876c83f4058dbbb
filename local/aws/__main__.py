import sys

from local.aws.moto_server import main

sys.exit(main())
