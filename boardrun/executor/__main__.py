import sys

from boardrun.executor.run import main

sys.exit(main())
