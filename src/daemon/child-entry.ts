// Entry of the installed extension handler when the daemon starts it: the same build as the daemon's.
import { main } from '../cli/main.js';

process.exitCode = await main(process.argv.slice(2));
