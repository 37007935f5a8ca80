from airstack.smoke.run import main

raise SystemExit(main())
