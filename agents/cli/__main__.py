from agents.cli.parser import main

raise SystemExit(main())
