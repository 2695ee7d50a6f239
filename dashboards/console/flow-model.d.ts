// Types of flow-model.js, for the console's type check (tsconfig.json here) and the unit tests
// (test/unit/feed/flow-model.test.ts); the console itself is plain JavaScript.
import type { Alert, HandoverNote, Notification, PatientView, Referral, ServerFrameOf } from './generated/frames';

export interface Option { value: string; label: string }
export interface Problem { field: string; message: string }
export type FlowRequest = { body: Record<string, unknown>; problem?: undefined } | { problem: Problem; body?: undefined };
export type Answer =
  | { ok: true; duplicate: boolean; beds: { occupied: number; capacity: number } | null; listed: boolean; overCapacity: boolean; capacityWarning: string | null }
  | { ok: false; field: string | null; message: string };

export const FLOW_PATH: string;
export const PATHWAYS: Option[];
export const ADMISSIONS: Option[];
export const SOURCES: Option[];
export const OUTCOMES: Option[];
export function inputTime(date?: Date): string;
export function isoFromInput(value: string): string | null;
export function deviceList(text: string): string[];
export function admitRequest(wardId: string, values: Record<string, string>, now?: number): FlowRequest;
export function dischargeRequest(patientId: string, wardId: string, values: Record<string, string>, now?: number): FlowRequest;
export function transferRequest(patientId: string, fromWardId: string, values: Record<string, string>, now?: number): FlowRequest;
export function fieldOf(field: string | undefined, kind: 'admit' | 'discharge' | 'transfer'): string | null;
export function plainMessage(message: string, options?: { field?: string; wardNames?: Record<string, string> }): string;
export function readAnswer(kind: 'admit' | 'discharge' | 'transfer', status: number, body: Record<string, unknown> | undefined, wardNames?: Record<string, string>): Answer;
export function postFlow(token: string, body: unknown, fetchImpl?: typeof fetch): Promise<{ status: number; body: Record<string, unknown> }>;
type RosterFrame = ServerFrameOf<'roster'>;
export function applyRoster(
  patients: Map<string, PatientView>,
  frame: Pick<RosterFrame, 'patientIds' | 'patients'>,
): { joined: PatientView[]; left: PatientView[]; missing: string[] };
export interface HeldRecords {
  alerts: Map<string, Alert>;
  alertRoutes: Map<string, string[]>;
  referrals: Map<string, Referral>;
  notifications: Map<string, Notification>;
  /** Handover notes by patient id. */
  notes?: Map<string, HandoverNote[]>;
}
export function applyRosterRecords(
  held: HeldRecords,
  frame: Partial<Pick<RosterFrame, 'alerts' | 'alertRoutes' | 'referrals' | 'notifications' | 'transferredOut'>>,
): { dropped: string[]; arrived: Alert[] };
