import { makeScanMedia } from './scan-jobs';
makeScanMedia(process.argv[2]!, Number(process.argv[3])).then((r) => console.log(r.reference));
