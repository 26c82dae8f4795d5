import * as fs from 'fs';
import * as path from 'path';
import { Calibration, loadCalibrationFile } from './calibration';
import { PACKAGE_ROOT } from '../paths';
import { dataHome } from '../paths';

/** Where `likeness calibrate` writes a deployment's own calibration (it wins over the shipped one). */
export function userCalibrationFile(modelId: string): string {
  return path.join(dataHome(), 'calibration', `${modelId}.json`);
}

/** The calibration shipped with the package for a model. */
export function shippedCalibrationFile(modelId: string): string {
  return path.join(PACKAGE_ROOT, 'models', 'calibration', `${modelId}.json`);
}

/** The deployment's calibration for a model if it has one, else the shipped one, else null. */
export function findCalibration(modelId: string): Calibration | null {
  for (const f of [userCalibrationFile(modelId), shippedCalibrationFile(modelId)]) {
    if (fs.existsSync(f)) return loadCalibrationFile(f);
  }
  return null;
}
