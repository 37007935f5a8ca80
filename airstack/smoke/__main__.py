from airstack.smoke.command import main

raise SystemExit(main())
