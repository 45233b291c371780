import { describe, expect, it } from 'vitest';
import { MEDICAL_O1_ZH, extractAnswer, renderInference } from './index';

describe('extractAnswer', () => {
  it('reads a continuation of a prompt that ended with <think>', () => {
    const r = extractAnswer('先想一想。\n  </think>\n  答案是 B。');
    expect(r).toEqual({ answer: '答案是 B。', reasoning: '先想一想。', opened: true, closed: true, wellFormed: true });
  });

  it('reads the whole decoded sequence after "### Response:", like the seed', () => {
    const prompt = renderInference(MEDICAL_O1_ZH, '问题？');
    const r = extractAnswer(`${prompt}推理\n  </think>\n  回答<｜end▁of▁sentence｜>`, { stopTokens: ['<｜end▁of▁sentence｜>'] });
    expect(r.answer).toBe('回答');
    expect(r.reasoning).toBe('推理');
    expect(r.wellFormed).toBe(true);
  });

  it('flags an unclosed reasoning', () => {
    const r = extractAnswer('thinking forever...');
    expect(r.closed).toBe(false);
    expect(r.answer).toBe('');
    expect(r.wellFormed).toBe(false);
  });

  it('flags stray or nested tags and empty parts', () => {
    expect(extractAnswer('a </think> b </think> c').wellFormed).toBe(false);
    expect(extractAnswer('a <think> b </think> c').wellFormed).toBe(false);
    expect(extractAnswer('reason </think>   ').wellFormed).toBe(false);
    expect(extractAnswer(' </think> answer').wellFormed).toBe(false);
  });

  it('needs an opening tag when the prompt did not open one', () => {
    expect(extractAnswer('r </think> a', { promptEndsWithThink: false }).wellFormed).toBe(false);
    expect(extractAnswer('<think>r </think> a', { promptEndsWithThink: false }).wellFormed).toBe(true);
  });
});
